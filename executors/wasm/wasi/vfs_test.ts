import assert from "node:assert/strict";
import { Vfs } from "./vfs.ts";
import { WasiError } from "./errno.ts";
import { E } from "./types.ts";

/** The errno a resolution fails with (0 when it succeeds). */
function errno(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (err) {
    if (err instanceof WasiError) return err.errno;
    throw err;
  }
}

function withTree(fn: (host: string, vfs: Vfs) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "denki-vfs-" });
  try {
    const root = `${dir}/root`;
    Deno.mkdirSync(`${root}/jail/sub`, { recursive: true });
    Deno.mkdirSync(`${dir}/data`);
    Deno.writeTextFileSync(`${dir}/secret`, "host secret");
    Deno.writeTextFileSync(`${root}/file`, "in the root");
    Deno.symlinkSync("/", `${root}/abs`);
    Deno.symlinkSync("../../..", `${root}/jail/up3`);
    Deno.symlinkSync("..", `${root}/jail/up`);
    Deno.symlinkSync("/file", `${root}/jail/absfile`);
    Deno.symlinkSync("loop", `${root}/loop`);
    const vfs = new Vfs([
      { guest: "/", host: root, readonly: false },
      { guest: "/data", host: `${dir}/data`, readonly: true },
    ]);
    fn(dir, vfs);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("vfs: '..', absolute paths and upward symlinks never leave the base", () =>
  withTree((host, vfs) => {
    assert.equal(errno(() => vfs.resolve("/", "..", false)), E.NOTCAPABLE);
    assert.equal(errno(() => vfs.resolve("/", "jail/../../secret", false)), E.NOTCAPABLE);
    assert.equal(errno(() => vfs.resolve("/", "/file", false)), E.NOTCAPABLE);
    assert.equal(errno(() => vfs.resolve("/", "jail/up3/secret", true)), E.NOTCAPABLE);
    // From a subdirectory, climbing to the preopen's root is already an escape.
    assert.equal(errno(() => vfs.resolve("/jail", "up/file", true)), E.NOTCAPABLE);
    assert.equal(errno(() => vfs.resolve("/jail", "absfile", true)), E.NOTCAPABLE);
    assert.equal(errno(() => vfs.resolve("/", "loop", true)), E.LOOP);
    // From the root, an absolute link means the guest root (as in a chroot).
    const r = vfs.resolve("/", "abs/file", true);
    assert.equal(r.host, `${host}/root/file`);
    assert.equal(vfs.resolve("/", "jail/absfile", true).host, `${host}/root/file`);
    // A trailing "/." follows a final symlink like a trailing slash.
    assert.equal(errno(() => vfs.resolve("/jail", "up/.", false)), E.NOTCAPABLE);
  }));

Deno.test("vfs: mounts map guest prefixes; read-only trees", () =>
  withTree((host, vfs) => {
    const d = vfs.resolve("/", "data", true);
    assert.equal(d.host, `${host}/data`);
    assert.equal(d.mount.readonly, true);
    assert.equal(vfs.readonlyTree("/data", d.mount), true);
    const root = vfs.resolve("/", ".", true);
    assert.equal(vfs.readonlyTree("/", root.mount), false);
    assert.ok(vfs.isMountPoint("/data"));
    assert.deepEqual(vfs.mountsIn("/"), ["data"]);
  }));

Deno.test("vfs: a base is walked again without following links and must be the same inode", () =>
  withTree((host, vfs) => {
    const st = Deno.lstatSync(`${host}/root/jail`);
    const ref = { guest: "/jail", dev: st.dev, ino: st.ino! };
    assert.equal(vfs.locate(ref).host, `${host}/root/jail`);
    assert.equal(vfs.resolve(ref, "sub", false).host, `${host}/root/jail/sub`);
    // The name made a symlink to a host directory: the walk refuses it.
    Deno.renameSync(`${host}/root/jail`, `${host}/root/moved`);
    Deno.symlinkSync(`${host}/data`, `${host}/root/jail`);
    assert.equal(errno(() => vfs.locate(ref)), E.NOENT);
    assert.equal(errno(() => vfs.resolve(ref, ".", false)), E.NOENT);
    // A directory of the same name that is another inode is not the descriptor's either.
    Deno.removeSync(`${host}/root/jail`);
    Deno.mkdirSync(`${host}/root/jail`);
    assert.equal(errno(() => vfs.locate(ref)), E.NOENT);
    // A guest path alone (no inode) only needs real directories on the way.
    assert.equal(vfs.locate("/jail").host, `${host}/root/jail`);
    // A mount's root replaced by a symlink is gone too.
    Deno.removeSync(`${host}/data`);
    Deno.symlinkSync(`${host}/root/moved`, `${host}/data`);
    assert.equal(errno(() => vfs.locate("/data")), E.NOENT);
  }));

Deno.test("vfs: parent() splits off the final name; a final dot answers with its errno", () =>
  withTree((host, vfs) => {
    const p = vfs.parent("/", "jail/new/", [E.EXIST, E.EXIST]);
    assert.equal(p.dir.host, `${host}/root/jail`);
    assert.equal(p.name, "new");
    assert.equal(p.slash, true);
    assert.equal(vfs.parent("/", "jail/new", [E.EXIST, E.EXIST]).slash, false);
    assert.equal(errno(() => vfs.parent("/", "jail/.", [E.EXIST, E.BUSY])), E.EXIST);
    assert.equal(errno(() => vfs.parent("/", "jail/..", [E.EXIST, E.BUSY])), E.BUSY);
    // The path is resolved first: escapes and missing or non-directory parts answer as such.
    assert.equal(errno(() => vfs.parent("/", "..", [E.EXIST, E.BUSY])), E.NOTCAPABLE);
    assert.equal(errno(() => vfs.parent("/", "file/.", [E.EXIST, E.BUSY])), E.NOTDIR);
    assert.equal(errno(() => vfs.parent("/", "missing/.", [E.EXIST, E.BUSY])), E.NOENT);
  }));
