/**
 * WASI path operations (path_*) and fd_readdir. Every path is resolved by the Vfs inside the
 * directory descriptor it is relative to; opened files are checked to be the very inode the
 * resolution saw, so a rename race between the two steps is refused rather than followed.
 */
import { WasiError } from "./errno.ts";
import type { FdEntry } from "./fd_table.ts";
import { filetypeOf, type FsContext, host, setTimes, statPath, writeFilestat } from "./fs.ts";
import { utf8 } from "./memory.ts";
import {
  DIR_RIGHTS,
  E,
  FDFLAGS,
  FILE_RIGHTS,
  FT,
  LOOKUP_SYMLINK_FOLLOW,
  OFLAGS,
  R,
  STREAM_RIGHTS,
  WRITE_RIGHTS,
} from "./types.ts";
import type { Mount, Resolved, Vfs } from "./vfs.ts";

/** Every oflag preview1 defines; any other bit is EINVAL. */
const OFLAGS_KNOWN = OFLAGS.CREAT | OFLAGS.DIRECTORY | OFLAGS.EXCL | OFLAGS.TRUNC;

/** Rights that need the file opened for writing. */
const WRITING = R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE;

/**
 * The rights a descriptor for `r` may have: none that write when nothing under it is
 * writable. (A read-only mount with writable mounts below keeps them; writes to the read-only
 * part then fail with EROFS, as they would on Linux.)
 */
export function mountRights(rights: bigint, vfs: Vfs, r: { guest: string; mount: Mount }): bigint {
  return vfs.readonlyTree(r.guest, r.mount) ? rights & ~WRITE_RIGHTS : rights;
}

function same(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The path_* functions and fd_readdir. */
export class PathOps {
  constructor(readonly ctx: FsContext) {}

  /** A directory descriptor with the given rights. */
  #dir(fd: number, rights: bigint): FdEntry & { guest: string; host: string } {
    // A descriptor that is not a directory is ENOTDIR (as openat says), whatever its rights.
    const e = this.ctx.table.get(fd);
    if (e.kind !== "dir" || e.guest === undefined || e.host === undefined) {
      throw new WasiError(E.NOTDIR);
    }
    this.ctx.table.get(fd, rights);
    return e as FdEntry & { guest: string; host: string };
  }

  #path(ptr: number, len: number): string {
    return this.ctx.mem.string(ptr, len);
  }

  path_open(
    dirfd: number,
    dirflags: number,
    pathPtr: number,
    pathLen: number,
    oflags: number,
    base: bigint,
    inheriting: bigint,
    fdflags: number,
    fdPtr: number,
  ): number {
    const dir = this.#dir(dirfd, R.PATH_OPEN);
    const path = this.#path(pathPtr, pathLen);
    if ((base & ~dir.rightsInheriting) !== 0n || (inheriting & ~dir.rightsInheriting) !== 0n) {
      return E.NOTCAPABLE;
    }
    const creat = (oflags & OFLAGS.CREAT) !== 0;
    const excl = (oflags & OFLAGS.EXCL) !== 0;
    const trunc = (oflags & OFLAGS.TRUNC) !== 0;
    const wantDir = (oflags & OFLAGS.DIRECTORY) !== 0;
    if ((oflags & ~OFLAGS_KNOWN) !== 0 || (creat && wantDir)) return E.INVAL;
    if (creat && !(dir.rightsBase & R.PATH_CREATE_FILE)) return E.NOTCAPABLE;
    if (trunc && !(dir.rightsBase & R.PATH_FILESTAT_SET_SIZE)) return E.NOTCAPABLE;
    if ((fdflags & (FDFLAGS.DSYNC | FDFLAGS.RSYNC)) && !(base & R.FD_DATASYNC)) return E.NOTCAPABLE;
    if ((fdflags & FDFLAGS.SYNC) && !(base & R.FD_SYNC)) return E.NOTCAPABLE;
    const follow = (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0;
    const r = this.ctx.vfs.resolve(dir.guest, path, follow, creat);
    if (r.stat === undefined) {
      if (!creat) return E.NOENT;
      if (path.endsWith("/") || wantDir) return E.ISDIR;
      if (r.mount.readonly) return E.ROFS;
      this.#create(r);
      // Just made empty: truncating again would only make ext4 flush the file on close.
      return this.#openFile(r, base, inheriting, fdflags, false, fdPtr, true);
    }
    if (creat && excl) return E.EXIST;
    if (r.stat.isSymlink) return E.LOOP;
    if (r.stat.isDirectory) {
      if (base & (R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE) || trunc) return E.ISDIR;
      const fd = this.ctx.table.add({
        kind: "dir",
        filetype: FT.DIRECTORY,
        rightsBase: mountRights(base & DIR_RIGHTS, this.ctx.vfs, r),
        rightsInheriting: mountRights(inheriting, this.ctx.vfs, r),
        flags: fdflags,
        guest: r.guest,
        host: r.host,
        mount: r.mount,
      });
      this.ctx.mem.setU32(fdPtr, fd);
      return E.SUCCESS;
    }
    if (wantDir) return E.NOTDIR;
    return this.#openFile(r, base, inheriting, fdflags, trunc, fdPtr, false);
  }

  /** Creates an empty file where `r` says, failing if something appeared there meanwhile. */
  #create(r: Resolved): void {
    host(() => Deno.openSync(r.host, { write: true, createNew: true, mode: 0o666 }).close());
  }

  #openFile(
    r: Resolved,
    base: bigint,
    inheriting: bigint,
    fdflags: number,
    trunc: boolean,
    fdPtr: number,
    created: boolean,
  ): number {
    const write = (base & WRITING) !== 0n || (fdflags & FDFLAGS.APPEND) !== 0 || trunc;
    if (write && r.mount.readonly) return E.ROFS;
    const before = created ? host(() => Deno.lstatSync(r.host)) : r.stat!;
    if (before.isSymlink) return E.LOOP;
    const file = host(() =>
      Deno.openSync(r.host, {
        read: (base & (R.FD_READ | R.FD_READDIR)) !== 0n || !write,
        write,
        truncate: trunc,
      })
    );
    // The file opened must be the inode resolution checked: a rename or symlink swap in
    // between would otherwise redirect the open.
    const now = host(() => file.statSync());
    if (!same(before, now)) {
      file.close();
      return E.ACCES;
    }
    const filetype = filetypeOf(now);
    const typeRights = filetype === FT.REGULAR_FILE ? FILE_RIGHTS : STREAM_RIGHTS;
    const fd = this.ctx.table.add({
      kind: "file",
      filetype,
      rightsBase: mountRights(base & typeRights, this.ctx.vfs, r),
      rightsInheriting: mountRights(inheriting, this.ctx.vfs, r),
      flags: fdflags,
      file,
      guest: r.guest,
      host: r.host,
      mount: r.mount,
    });
    this.ctx.mem.setU32(fdPtr, fd);
    return E.SUCCESS;
  }

  path_create_directory(fd: number, ptr: number, len: number): number {
    const dir = this.#dir(fd, R.PATH_CREATE_DIRECTORY);
    const { dir: parent, name } = this.ctx.vfs.parent(dir.guest, this.#path(ptr, len));
    const child = this.ctx.vfs.child(parent, name);
    if (child.stat !== undefined) return E.EXIST;
    if (child.mount.readonly) return E.ROFS;
    host(() => Deno.mkdirSync(child.host, { mode: 0o777 }));
    return E.SUCCESS;
  }

  path_filestat_get(fd: number, flags: number, ptr: number, len: number, out: number): number {
    const dir = this.#dir(fd, R.PATH_FILESTAT_GET);
    const r = this.ctx.vfs.resolve(
      dir.guest,
      this.#path(ptr, len),
      (flags & LOOKUP_SYMLINK_FOLLOW) !== 0,
    );
    if (r.stat === undefined) return E.NOENT;
    writeFilestat(this.ctx.mem, out, statPath(this.ctx, r.host, false));
    return E.SUCCESS;
  }

  path_filestat_set_times(
    fd: number,
    flags: number,
    ptr: number,
    len: number,
    atim: bigint,
    mtim: bigint,
    fst: number,
  ): number {
    const dir = this.#dir(fd, R.PATH_FILESTAT_SET_TIMES);
    const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
    const r = this.ctx.vfs.resolve(dir.guest, this.#path(ptr, len), follow);
    if (r.stat === undefined) return E.NOENT;
    if (r.mount.readonly) return E.ROFS;
    if (r.stat.isSymlink && !this.ctx.native) return E.NOTSUP;
    return setTimes(this.ctx, r.host, false, atim, mtim, fst);
  }

  path_link(
    oldFd: number,
    oldFlags: number,
    oldPtr: number,
    oldLen: number,
    newFd: number,
    newPtr: number,
    newLen: number,
  ): number {
    const src = this.#dir(oldFd, R.PATH_LINK_SOURCE);
    const dst = this.#dir(newFd, R.PATH_LINK_TARGET);
    const from = this.ctx.vfs.resolve(
      src.guest,
      this.#path(oldPtr, oldLen),
      (oldFlags & LOOKUP_SYMLINK_FOLLOW) !== 0,
    );
    if (from.stat === undefined) return E.NOENT;
    if (from.stat.isDirectory) return E.PERM;
    const { dir: parent, name } = this.ctx.vfs.parent(dst.guest, this.#path(newPtr, newLen));
    const to = this.ctx.vfs.child(parent, name);
    if (to.stat !== undefined) return E.EXIST;
    if (from.mount !== to.mount) return E.XDEV;
    if (to.mount.readonly) return E.ROFS;
    host(() => Deno.linkSync(from.host, to.host));
    return E.SUCCESS;
  }

  path_readlink(
    fd: number,
    ptr: number,
    len: number,
    buf: number,
    bufLen: number,
    usedPtr: number,
  ): number {
    const dir = this.#dir(fd, R.PATH_READLINK);
    const r = this.ctx.vfs.resolve(dir.guest, this.#path(ptr, len), false);
    if (r.stat === undefined) return E.NOENT;
    if (!r.stat.isSymlink) return E.INVAL;
    const target = utf8(host(() => Deno.readLinkSync(r.host)));
    const n = Math.min(bufLen, target.length);
    this.ctx.mem.write(buf, target.subarray(0, n));
    this.ctx.mem.setU32(usedPtr, n);
    return E.SUCCESS;
  }

  path_remove_directory(fd: number, ptr: number, len: number): number {
    const dir = this.#dir(fd, R.PATH_REMOVE_DIRECTORY);
    const { dir: parent, name } = this.ctx.vfs.parent(dir.guest, this.#path(ptr, len));
    const child = this.ctx.vfs.child(parent, name);
    if (child.stat === undefined) return E.NOENT;
    if (!child.stat.isDirectory) return E.NOTDIR;
    if (this.ctx.vfs.isMountPoint(child.guest)) return E.BUSY;
    if (child.mount.readonly) return E.ROFS;
    host(() => Deno.removeSync(child.host));
    return E.SUCCESS;
  }

  path_rename(
    fd: number,
    oldPtr: number,
    oldLen: number,
    newFd: number,
    newPtr: number,
    newLen: number,
  ): number {
    const src = this.#dir(fd, R.PATH_RENAME_SOURCE);
    const dst = this.#dir(newFd, R.PATH_RENAME_TARGET);
    const oldPath = this.#path(oldPtr, oldLen);
    const newPath = this.#path(newPtr, newLen);
    const a = this.ctx.vfs.parent(src.guest, oldPath);
    const b = this.ctx.vfs.parent(dst.guest, newPath);
    const from = this.ctx.vfs.child(a.dir, a.name);
    const to = this.ctx.vfs.child(b.dir, b.name);
    if (from.stat === undefined) return E.NOENT;
    const fromDir = from.stat.isDirectory;
    if (!fromDir && (oldPath.endsWith("/") || newPath.endsWith("/"))) return E.NOTDIR;
    if (this.ctx.vfs.isMountPoint(from.guest) || this.ctx.vfs.isMountPoint(to.guest)) return E.BUSY;
    if (from.mount !== to.mount) return E.XDEV;
    if (from.mount.readonly) return E.ROFS;
    if (fromDir && to.guest.startsWith(`${from.guest}/`)) return E.INVAL;
    if (to.stat !== undefined && to.guest !== from.guest) {
      if (fromDir && !to.stat.isDirectory) return E.NOTDIR;
      if (!fromDir && to.stat.isDirectory) return E.ISDIR;
    }
    host(() => Deno.renameSync(from.host, to.host));
    // Directory descriptors are kept by path: move them along, as a dirfd would follow.
    if (fromDir) this.ctx.table.moved(from.guest, from.host, to.guest, to.host);
    return E.SUCCESS;
  }

  path_symlink(oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number): number {
    const dir = this.#dir(fd, R.PATH_SYMLINK);
    const target = this.#path(oldPtr, oldLen);
    const newPath = this.#path(newPtr, newLen);
    const { dir: parent, name } = this.ctx.vfs.parent(dir.guest, newPath);
    const child = this.ctx.vfs.child(parent, name);
    if (child.stat !== undefined) return E.EXIST;
    if (newPath.endsWith("/")) return E.NOENT;
    if (child.mount.readonly) return E.ROFS;
    // Any target may be stored: resolution confines it when the link is followed.
    const symlink = this.ctx.symlink ?? Deno.symlinkSync;
    host(() => symlink(target, child.host));
    return E.SUCCESS;
  }

  path_unlink_file(fd: number, ptr: number, len: number): number {
    const dir = this.#dir(fd, R.PATH_UNLINK_FILE);
    const path = this.#path(ptr, len);
    const { dir: parent, name } = this.ctx.vfs.parent(dir.guest, path);
    const child = this.ctx.vfs.child(parent, name);
    if (child.stat === undefined) return E.NOENT;
    if (child.stat.isDirectory) return E.ISDIR;
    if (path.endsWith("/")) return E.NOTDIR;
    if (child.mount.readonly) return E.ROFS;
    host(() => Deno.removeSync(child.host));
    return E.SUCCESS;
  }

  fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, usedPtr: number): number {
    const e = this.#dir(fd, R.FD_READDIR);
    if (cookie === 0n || e.listing === undefined) e.listing = { entries: this.#list(e) };
    const { mem } = this.ctx;
    const out = mem.slice(buf, bufLen);
    let used = 0;
    for (let i = Number(cookie); i < e.listing.entries.length && used < bufLen; i++) {
      const ent = e.listing.entries[i]!;
      const name = utf8(ent.name);
      const header = new Uint8Array(24);
      const v = new DataView(header.buffer);
      v.setBigUint64(0, BigInt(i + 1), true);
      v.setBigUint64(8, ent.ino, true);
      v.setUint32(16, name.length, true);
      v.setUint8(20, ent.type);
      const record = new Uint8Array(24 + name.length);
      record.set(header);
      record.set(name, 24);
      // A record that does not fit is cut off: the guest retries with a bigger buffer.
      const n = Math.min(record.length, bufLen - used);
      out.set(record.subarray(0, n), used);
      used += n;
    }
    mem.setU32(usedPtr, used);
    return E.SUCCESS;
  }

  /** ".", "..", the directory's entries and the mounts attached inside it. */
  #list(
    e: FdEntry & { guest: string; host: string },
  ): { name: string; ino: bigint; type: number }[] {
    const ino = (p: string) => {
      try {
        return BigInt(Deno.lstatSync(p).ino ?? 0);
      } catch {
        return 0n;
      }
    };
    const self = ino(e.host);
    const parentGuest = e.guest === "/" ? "/" : e.guest.slice(0, e.guest.lastIndexOf("/")) || "/";
    const parentHost = this.ctx.vfs.map(parentGuest.split("/").filter((p) => p)).host;
    const entries: { name: string; ino: bigint; type: number }[] = [
      { name: ".", ino: self, type: FT.DIRECTORY },
      { name: "..", ino: ino(parentHost), type: FT.DIRECTORY },
    ];
    const seen = new Set<string>();
    for (const d of host(() => [...Deno.readDirSync(e.host)])) {
      seen.add(d.name);
      const type = d.isDirectory
        ? FT.DIRECTORY
        : d.isFile
        ? FT.REGULAR_FILE
        : d.isSymlink
        ? FT.SYMBOLIC_LINK
        : (() => {
          try {
            return filetypeOf(Deno.lstatSync(`${e.host}/${d.name}`));
          } catch {
            return FT.UNKNOWN;
          }
        })();
      entries.push({ name: d.name, ino: ino(`${e.host}/${d.name}`), type });
    }
    for (const m of this.ctx.vfs.mountsIn(e.guest)) {
      if (!seen.has(m)) entries.push({ name: m, ino: 0n, type: FT.DIRECTORY });
    }
    return entries;
  }
}
