import assert from "node:assert/strict";
import { type HostLimits, WasiHost } from "./host.ts";
import { DIR_RIGHTS, E, FDFLAGS, FILE_RIGHTS, LOOKUP_SYMLINK_FOLLOW, OFLAGS, R } from "./types.ts";

type Fn = (...args: (number | bigint)[]) => number;

/** A WASI host on a temp tree, called the way a guest calls it (pointers into its memory). */
class Guest {
  readonly dir = Deno.makeTempDirSync({ prefix: "denki-path-" });
  readonly root = `${this.dir}/root`;
  readonly host: WasiHost;
  readonly #fns: Record<string, Fn>;
  readonly #mem = new WebAssembly.Memory({ initial: 1 });
  #next = 1024;

  constructor(limits?: HostLimits) {
    Deno.mkdirSync(this.root);
    Deno.mkdirSync(`${this.dir}/outside/sub`, { recursive: true });
    Deno.writeTextFileSync(`${this.dir}/outside/secret`, "host secret");
    this.host = new WasiHost({
      args: ["t"],
      env: [],
      mounts: [{ guest: "/", host: this.root, readonly: false }],
      preopens: ["/"],
      limits,
    });
    this.host.mem.bind(this.#mem);
    this.#fns = this.host.imports().wasi_snapshot_preview1 as unknown as Record<string, Fn>;
  }

  /** Puts bytes in guest memory (8-aligned); returns [ptr, len]. */
  raw(bytes: Uint8Array): [number, number] {
    const ptr = this.#next;
    new Uint8Array(this.#mem.buffer).set(bytes, ptr);
    this.#next += bytes.length + 8 - (bytes.length % 8);
    return [ptr, bytes.length];
  }

  /** Puts a string in guest memory; returns [ptr, len]. */
  str(s: string): [number, number] {
    return this.raw(new TextEncoder().encode(s));
  }

  call(name: string, ...args: (number | bigint)[]): number {
    return this.#fns[name]!(...args);
  }

  /** path_open; returns [errno, fd]. */
  open(
    dirfd: number,
    path: string,
    oflags = 0,
    base = FILE_RIGHTS,
    fdflags = 0,
    inheriting = 0n,
  ): [number, number] {
    const e = this.call(
      "path_open",
      dirfd,
      LOOKUP_SYMLINK_FOLLOW,
      ...this.str(path),
      oflags,
      base,
      inheriting,
      fdflags,
      0,
    );
    return [e, this.u32(0)];
  }

  openDir(dirfd: number, path: string): number {
    const [e, fd] = this.open(
      dirfd,
      path,
      OFLAGS.DIRECTORY,
      DIR_RIGHTS,
      0,
      DIR_RIGHTS | FILE_RIGHTS,
    );
    assert.equal(e, E.SUCCESS, `open ${path}`);
    return fd;
  }

  /** A call with one path argument relative to `dirfd`. */
  path(name: string, dirfd: number, path: string, ...rest: number[]): number {
    return this.call(name, dirfd, ...this.str(path), ...rest);
  }

  u64(ptr: number): bigint {
    return new DataView(this.#mem.buffer).getBigUint64(ptr, true);
  }

  u32(ptr: number): number {
    return new DataView(this.#mem.buffer).getUint32(ptr, true);
  }

  close(): void {
    Deno.removeSync(this.dir, { recursive: true });
  }
}

function withGuest(fn: (g: Guest) => void, limits?: HostLimits): void {
  const g = new Guest(limits);
  try {
    fn(g);
  } finally {
    g.close();
  }
}

const ROOT = 3;

Deno.test("path: a stale directory fd reaches nothing after its name becomes a host symlink", () =>
  withGuest((g) => {
    assert.equal(g.path("path_create_directory", ROOT, "d"), E.SUCCESS);
    const d = g.openDir(ROOT, "d");
    assert.equal(g.path("path_remove_directory", ROOT, "d"), E.SUCCESS);
    // The link's text is a host path; followed by the host kernel, it would lead outside.
    Deno.symlinkSync(`${g.dir}/outside`, `${g.root}/d`);
    assert.equal(g.open(d, "secret")[0], E.NOENT);
    assert.equal(g.open(d, "made", OFLAGS.CREAT)[0], E.NOENT);
    assert.equal(g.call("path_filestat_get", d, 0, ...g.str("secret"), 512), E.NOENT);
    assert.equal(g.path("path_create_directory", d, "made"), E.NOENT);
    assert.equal(g.path("path_unlink_file", d, "secret"), E.NOENT);
    assert.equal(
      g.call("path_link", d, 0, ...g.str("secret"), ROOT, ...g.str("stolen")),
      E.NOENT,
    );
    assert.equal(g.call("path_rename", d, ...g.str("secret"), ROOT, ...g.str("moved")), E.NOENT);
    assert.equal(g.call("fd_readdir", d, 2048, 256, 0n, 0), E.NOENT);
    // fstat of the descriptor is its own (removed) directory, not the link's target.
    assert.equal(g.call("fd_filestat_get", d, 512), E.SUCCESS);
    assert.notEqual(g.u64(512 + 8), BigInt(Deno.statSync(`${g.dir}/outside`).ino!));
    assert.deepEqual([...Deno.readDirSync(`${g.dir}/outside`)].map((e) => e.name).sort(), [
      "secret",
      "sub",
    ]);
    assert.deepEqual([...Deno.readDirSync(g.root)].map((e) => e.name), ["d"]);
  }));

Deno.test("path: a directory fd follows a rename, and a replaced directory is not it", () =>
  withGuest((g) => {
    Deno.mkdirSync(`${g.root}/a`);
    Deno.writeTextFileSync(`${g.root}/a/f`, "in a");
    const a = g.openDir(ROOT, "a");
    assert.equal(g.call("path_rename", ROOT, ...g.str("a"), ROOT, ...g.str("b")), E.SUCCESS);
    assert.equal(g.open(a, "f")[0], E.SUCCESS);
    // Removed and made again: a new directory of the same name is another inode.
    Deno.mkdirSync(`${g.root}/c`);
    const c = g.openDir(ROOT, "c");
    Deno.removeSync(`${g.root}/c`);
    Deno.mkdirSync(`${g.root}/c`);
    assert.equal(g.open(c, "new", OFLAGS.CREAT)[0], E.NOENT);
    assert.deepEqual([...Deno.readDirSync(`${g.root}/c`)], []);
  }));

Deno.test("path: trailing slashes and final dots answer as Linux's *at calls", () =>
  withGuest((g) => {
    Deno.writeTextFileSync(`${g.root}/file`, "x");
    Deno.mkdirSync(`${g.root}/dir`);
    Deno.symlinkSync("dir", `${g.root}/ld`);
    const link = (from: string, to: string) =>
      g.call("path_link", ROOT, 0, ...g.str(from), ROOT, ...g.str(to));
    assert.equal(link("file", "new/"), E.NOENT);
    assert.equal(link("file", "dir/"), E.EXIST);
    assert.equal(link("file/", "new"), E.NOTDIR);
    assert.equal(link("ld/", "new"), E.PERM);
    assert.equal(link("file", "dir/."), E.EXIST);
    assert.equal(g.call("path_symlink", ...g.str("x"), ROOT, ...g.str("new/")), E.NOENT);
    assert.equal(g.path("path_create_directory", ROOT, "newdir/"), E.SUCCESS);
    assert.equal(g.path("path_create_directory", ROOT, "dir/."), E.EXIST);
    assert.equal(g.path("path_unlink_file", ROOT, "ld/"), E.NOTDIR);
    assert.equal(g.path("path_unlink_file", ROOT, "dir/."), E.ISDIR);
    assert.equal(g.path("path_remove_directory", ROOT, "dir/."), E.INVAL);
    assert.equal(g.path("path_remove_directory", ROOT, "dir/.."), E.NOTEMPTY);
    assert.equal(g.path("path_remove_directory", ROOT, "ld/"), E.NOTDIR);
    const rename = (from: string, to: string) =>
      g.call("path_rename", ROOT, ...g.str(from), ROOT, ...g.str(to));
    assert.equal(rename("dir/.", "x"), E.BUSY);
    assert.equal(rename("file", "new/"), E.NOTDIR);
    assert.equal(rename("ld/", "x"), E.NOTDIR);
    assert.equal(g.open(ROOT, "new/", OFLAGS.CREAT)[0], E.ISDIR);
    assert.equal(g.open(ROOT, "file/", OFLAGS.CREAT)[0], E.ISDIR);
    assert.equal(g.open(ROOT, "dir", OFLAGS.CREAT, R.FD_READ)[0], E.ISDIR);
    assert.equal(g.open(ROOT, "dir", OFLAGS.CREAT | OFLAGS.EXCL, R.FD_READ)[0], E.EXIST);
    assert.equal(g.open(ROOT, "file/")[0], E.NOTDIR);
    assert.deepEqual([...Deno.readDirSync(g.root)].map((e) => e.name).sort(), [
      "dir",
      "file",
      "ld",
      "newdir",
    ]);
  }));

Deno.test("path: the sync fdflags need what the directory hands on, not the new fd's rights", () =>
  withGuest((g) => {
    Deno.writeTextFileSync(`${g.root}/f`, "x");
    const dir = (inheriting: bigint) => {
      const [e, fd] = g.open(ROOT, ".", OFLAGS.DIRECTORY, DIR_RIGHTS, 0, inheriting);
      assert.equal(e, E.SUCCESS);
      return fd;
    };
    const read = R.FD_READ;
    const noSync = dir(read);
    const dataOnly = dir(read | R.FD_DATASYNC);
    const full = dir(read | R.FD_SYNC);
    // The new fd asks for reading only: its own rights never carry the sync ones.
    const at = (d: number, flags: number) => g.open(d, "f", 0, read, flags)[0];
    assert.equal(at(noSync, FDFLAGS.DSYNC), E.NOTCAPABLE);
    assert.equal(at(noSync, FDFLAGS.SYNC), E.NOTCAPABLE);
    assert.equal(at(noSync, FDFLAGS.RSYNC), E.NOTCAPABLE);
    assert.equal(at(dataOnly, FDFLAGS.DSYNC), E.SUCCESS);
    assert.equal(at(dataOnly, FDFLAGS.SYNC), E.NOTCAPABLE);
    assert.equal(at(dataOnly, FDFLAGS.RSYNC), E.NOTCAPABLE);
    assert.equal(at(full, FDFLAGS.SYNC), E.SUCCESS);
    assert.equal(at(full, FDFLAGS.RSYNC), E.SUCCESS);
    // The witx: fd_sync also allows dsync.
    assert.equal(at(full, FDFLAGS.DSYNC), E.SUCCESS);
  }));

Deno.test("path: RLIMIT_NOFILE is the descriptor table's size; nothing is created past it", () =>
  withGuest((g) => {
    Deno.writeTextFileSync(`${g.root}/f`, "x");
    const fds: number[] = [];
    for (;;) {
      const [e, fd] = g.open(ROOT, "f", 0, R.FD_READ);
      if (e !== E.SUCCESS) {
        assert.equal(e, E.MFILE);
        break;
      }
      fds.push(fd);
    }
    // fd 3 is the preopen: 4..7 are the guest's.
    assert.deepEqual(fds, [4, 5, 6, 7]);
    assert.equal(g.open(ROOT, "new", OFLAGS.CREAT)[0], E.MFILE);
    assert.equal(g.call("path_filestat_get", ROOT, 0, ...g.str("new"), 512), E.NOENT);
    assert.equal(g.call("fd_close", 5), E.SUCCESS);
    assert.deepEqual(g.open(ROOT, "f", 0, R.FD_READ), [E.SUCCESS, 5]);
  }, { nofile: 8 }));

Deno.test("path: RLIMIT_FSIZE cuts a write at the limit, then EFBIG", () =>
  withGuest((g) => {
    const [e, fd] = g.open(ROOT, "f", OFLAGS.CREAT, FILE_RIGHTS);
    assert.equal(e, E.SUCCESS);
    const [ptr] = g.str("x".repeat(64));
    // One iovec: 64 bytes at ptr.
    const [iovPtr] = g.raw(new Uint8Array(new Uint32Array([ptr, 64]).buffer));
    assert.equal(g.call("fd_write", fd, iovPtr, 1, 0), E.SUCCESS);
    assert.equal(g.u32(0), 64);
    assert.equal(g.call("fd_write", fd, iovPtr, 1, 0), E.SUCCESS);
    assert.equal(g.u32(0), 36, "a short write up to the limit");
    assert.equal(g.call("fd_write", fd, iovPtr, 1, 0), E.FBIG);
    assert.equal(g.call("fd_pwrite", fd, iovPtr, 1, 100n, 0), E.FBIG);
    assert.equal(g.call("fd_pwrite", fd, iovPtr, 1, 90n, 0), E.SUCCESS);
    assert.equal(g.u32(0), 10);
    assert.equal(g.call("fd_filestat_set_size", fd, 101n), E.FBIG);
    assert.equal(g.call("fd_allocate", fd, 0n, 101n), E.FBIG);
    assert.equal(g.call("fd_filestat_set_size", fd, 10n), E.SUCCESS);
    assert.equal(Deno.statSync(`${g.root}/f`).size, 10);
  }, { fsize: 100 }));
