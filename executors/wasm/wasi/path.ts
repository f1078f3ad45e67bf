/**
 * WASI path operations (path_*) and fd_readdir. Every path is resolved by the Vfs inside the
 * directory descriptor it is relative to, whose own path is walked again and checked against
 * the inode it was opened on; opened files and directories are checked to be the very inode
 * the resolution saw, so a rename race between the two steps is refused rather than followed.
 * Trailing slashes and final "." or ".." follow Linux's *at calls.
 */
import { host, WasiError } from "./errno.ts";
import { dirRef, type FdEntry } from "./fd_table.ts";
import type { FsContext } from "./fs.ts";
import { filetypeOf, setTimes, statPath, writeFilestat } from "./stat.ts";
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
import type { DirRef, Mount, Resolved, Vfs } from "./vfs.ts";

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

/** A path that names a directory whatever its last component is ("x/", "x/.", "..", "."). */
function namesDirectory(path: string): boolean {
  return path.endsWith("/") || /(^|\/)\.\.?$/.test(path);
}

/**
 * A descriptor entry for the directory `r` resolved to, holding the directory open (so its
 * inode stays the one checked, and fstat needs no path). A handle that turns out to be some
 * other inode (the name was swapped meanwhile) is EACCES; a directory that cannot be opened
 * for reading is still handed out, identified by the inode resolution saw.
 */
export function dirEntry(
  r: Resolved,
  rightsBase: bigint,
  rightsInheriting: bigint,
  flags: number,
): FdEntry {
  const seen = r.stat!;
  let handle: Deno.FsFile | undefined;
  try {
    handle = Deno.openSync(r.host, { read: true });
  } catch {
    handle = undefined;
  }
  if (handle !== undefined) {
    let now: Deno.FileInfo | undefined;
    try {
      now = handle.statSync();
    } catch {
      now = undefined;
    }
    if (now === undefined || !same(seen, now)) {
      handle.close();
      throw new WasiError(E.ACCES);
    }
  }
  return {
    kind: "dir",
    filetype: FT.DIRECTORY,
    rightsBase,
    rightsInheriting,
    flags,
    guest: r.guest,
    host: r.host,
    mount: r.mount,
    dev: seen.dev,
    ino: seen.ino ?? 0,
    ...(handle ? { handle } : {}),
  };
}

/** The path_* functions and fd_readdir. */
export class PathOps {
  constructor(readonly ctx: FsContext) {}

  /** A directory descriptor with the given rights, and its DirRef as the base of a path. */
  #dir(fd: number, rights: bigint): { e: FdEntry; ref: DirRef } {
    // A descriptor that is not a directory is ENOTDIR (as openat says), whatever its rights.
    const e = this.ctx.table.get(fd);
    if (e.kind !== "dir") throw new WasiError(E.NOTDIR);
    this.ctx.table.get(fd, rights);
    return { e, ref: dirRef(e) };
  }

  #path(ptr: number, len: number): string {
    return this.ctx.mem.string(ptr, len);
  }

  /** Adds an entry to the table, closing what it holds if there is no room. */
  #install(entry: FdEntry, fdPtr: number): number {
    let fd: number;
    try {
      fd = this.ctx.table.add(entry);
    } catch (err) {
      entry.file?.close();
      entry.handle?.close();
      throw err;
    }
    this.ctx.mem.setU32(fdPtr, fd);
    return E.SUCCESS;
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
    const { e: dir, ref } = this.#dir(dirfd, R.PATH_OPEN);
    const path = this.#path(pathPtr, pathLen);
    const handOn = dir.rightsInheriting;
    if ((base & ~handOn) !== 0n || (inheriting & ~handOn) !== 0n) return E.NOTCAPABLE;
    const creat = (oflags & OFLAGS.CREAT) !== 0;
    const excl = (oflags & OFLAGS.EXCL) !== 0;
    const trunc = (oflags & OFLAGS.TRUNC) !== 0;
    const wantDir = (oflags & OFLAGS.DIRECTORY) !== 0;
    if ((oflags & ~OFLAGS_KNOWN) !== 0 || (creat && wantDir)) return E.INVAL;
    if (creat && !(dir.rightsBase & R.PATH_CREATE_FILE)) return E.NOTCAPABLE;
    if (trunc && !(dir.rightsBase & R.PATH_FILESTAT_SET_SIZE)) return E.NOTCAPABLE;
    // The sync fdflags are rights the directory hands on (the witx: fd_datasync allows dsync,
    // fd_sync allows rsync and dsync; sync is fd_sync's too), not rights the new fd asks for.
    if ((fdflags & FDFLAGS.DSYNC) && !(handOn & (R.FD_DATASYNC | R.FD_SYNC))) return E.NOTCAPABLE;
    if ((fdflags & (FDFLAGS.RSYNC | FDFLAGS.SYNC)) && !(handOn & R.FD_SYNC)) return E.NOTCAPABLE;
    // As open(2): no free descriptor number is EMFILE before anything is looked up or made.
    this.ctx.table.room();
    if (creat && namesDirectory(path)) {
      // O_CREAT of a name that can only be a directory: EISDIR once its parent resolves.
      this.ctx.vfs.parent(ref, path, [E.ISDIR, E.ISDIR]);
      return E.ISDIR;
    }
    const follow = (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0;
    const r = this.ctx.vfs.resolve(ref, path, follow, creat);
    if (r.stat === undefined) {
      if (r.mount.readonly) return E.ROFS;
      this.#create(r);
      // Just made empty: truncating again would only make ext4 flush the file on close.
      return this.#openFile(r, base, inheriting, fdflags, false, fdPtr, true);
    }
    if (creat && excl) return E.EXIST;
    if (r.stat.isSymlink) return E.LOOP;
    if (r.stat.isDirectory) {
      if (creat || (base & WRITING) || trunc) return E.ISDIR;
      const entry = dirEntry(
        r,
        mountRights(base & DIR_RIGHTS, this.ctx.vfs, r),
        mountRights(inheriting, this.ctx.vfs, r),
        fdflags,
      );
      return this.#install(entry, fdPtr);
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
    let now: Deno.FileInfo;
    try {
      now = host(() => file.statSync());
    } catch (err) {
      file.close();
      throw err;
    }
    if (!same(before, now)) {
      file.close();
      return E.ACCES;
    }
    const filetype = filetypeOf(now);
    const typeRights = filetype === FT.REGULAR_FILE ? FILE_RIGHTS : STREAM_RIGHTS;
    return this.#install({
      kind: "file",
      filetype,
      rightsBase: mountRights(base & typeRights, this.ctx.vfs, r),
      rightsInheriting: mountRights(inheriting, this.ctx.vfs, r),
      flags: fdflags,
      file,
      guest: r.guest,
      host: r.host,
      mount: r.mount,
      dev: now.dev,
      ino: now.ino ?? 0,
    }, fdPtr);
  }

  path_create_directory(fd: number, ptr: number, len: number): number {
    const { ref } = this.#dir(fd, R.PATH_CREATE_DIRECTORY);
    const { dir: parent, name } = this.ctx.vfs.parent(ref, this.#path(ptr, len), [
      E.EXIST,
      E.EXIST,
    ]);
    const child = this.ctx.vfs.child(parent, name);
    if (child.stat !== undefined) return E.EXIST;
    if (child.mount.readonly) return E.ROFS;
    host(() => Deno.mkdirSync(child.host, { mode: 0o777 }));
    return E.SUCCESS;
  }

  path_filestat_get(fd: number, flags: number, ptr: number, len: number, out: number): number {
    const { ref } = this.#dir(fd, R.PATH_FILESTAT_GET);
    const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
    const r = this.ctx.vfs.resolve(ref, this.#path(ptr, len), follow);
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
    const { ref } = this.#dir(fd, R.PATH_FILESTAT_SET_TIMES);
    const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
    const r = this.ctx.vfs.resolve(ref, this.#path(ptr, len), follow);
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
      src.ref,
      this.#path(oldPtr, oldLen),
      (oldFlags & LOOKUP_SYMLINK_FOLLOW) !== 0,
    );
    if (from.stat === undefined) return E.NOENT;
    if (from.stat.isDirectory) return E.PERM;
    const { dir: parent, name, slash } = this.ctx.vfs.parent(dst.ref, this.#path(newPtr, newLen), [
      E.EXIST,
      E.EXIST,
    ]);
    const to = this.ctx.vfs.child(parent, name);
    if (to.stat !== undefined) return E.EXIST;
    // A new name with a trailing slash would have to be a directory: linkat says ENOENT.
    if (slash) return E.NOENT;
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
    const { ref } = this.#dir(fd, R.PATH_READLINK);
    const r = this.ctx.vfs.resolve(ref, this.#path(ptr, len), false);
    if (r.stat === undefined) return E.NOENT;
    if (!r.stat.isSymlink) return E.INVAL;
    const target = utf8(host(() => Deno.readLinkSync(r.host)));
    const n = Math.min(bufLen, target.length);
    this.ctx.mem.write(buf, target.subarray(0, n));
    this.ctx.mem.setU32(usedPtr, n);
    return E.SUCCESS;
  }

  path_remove_directory(fd: number, ptr: number, len: number): number {
    const { ref } = this.#dir(fd, R.PATH_REMOVE_DIRECTORY);
    // rmdir(".") is EINVAL, rmdir("x/..") ENOTEMPTY (it names a directory holding x).
    const { dir: parent, name } = this.ctx.vfs.parent(ref, this.#path(ptr, len), [
      E.INVAL,
      E.NOTEMPTY,
    ]);
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
    const a = this.ctx.vfs.parent(src.ref, this.#path(oldPtr, oldLen), [E.BUSY, E.BUSY]);
    const b = this.ctx.vfs.parent(dst.ref, this.#path(newPtr, newLen), [E.BUSY, E.BUSY]);
    const from = this.ctx.vfs.child(a.dir, a.name);
    const to = this.ctx.vfs.child(b.dir, b.name);
    if (from.stat === undefined) return E.NOENT;
    const fromDir = from.stat.isDirectory;
    // rename does not follow a final symlink, so "link/" is ENOTDIR even to a directory.
    if (!fromDir && (a.slash || b.slash)) return E.NOTDIR;
    if (this.ctx.vfs.isMountPoint(from.guest) || this.ctx.vfs.isMountPoint(to.guest)) return E.BUSY;
    if (from.mount !== to.mount) return E.XDEV;
    if (from.mount.readonly) return E.ROFS;
    if (fromDir && to.guest.startsWith(`${from.guest}/`)) return E.INVAL;
    if (to.stat !== undefined && to.guest !== from.guest) {
      if (fromDir && !to.stat.isDirectory) return E.NOTDIR;
      if (!fromDir && to.stat.isDirectory) return E.ISDIR;
    }
    host(() => Deno.renameSync(from.host, to.host));
    // Descriptors are kept by path: move them along, as an open fd follows its inode.
    this.ctx.table.moved(from.guest, from.host, to.guest, to.host);
    return E.SUCCESS;
  }

  path_symlink(oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number): number {
    const { ref } = this.#dir(fd, R.PATH_SYMLINK);
    const target = this.#path(oldPtr, oldLen);
    const { dir: parent, name, slash } = this.ctx.vfs.parent(ref, this.#path(newPtr, newLen), [
      E.EXIST,
      E.EXIST,
    ]);
    const child = this.ctx.vfs.child(parent, name);
    if (child.stat !== undefined) return E.EXIST;
    if (slash) return E.NOENT;
    if (child.mount.readonly) return E.ROFS;
    // Any target may be stored: resolution confines it when the link is followed.
    const symlink = this.ctx.symlink ?? Deno.symlinkSync;
    host(() => symlink(target, child.host));
    return E.SUCCESS;
  }

  path_unlink_file(fd: number, ptr: number, len: number): number {
    const { ref } = this.#dir(fd, R.PATH_UNLINK_FILE);
    const { dir: parent, name, slash } = this.ctx.vfs.parent(ref, this.#path(ptr, len), [
      E.ISDIR,
      E.ISDIR,
    ]);
    const child = this.ctx.vfs.child(parent, name);
    if (child.stat === undefined) return E.NOENT;
    if (child.stat.isDirectory) return E.ISDIR;
    if (slash) return E.NOTDIR;
    if (child.mount.readonly) return E.ROFS;
    host(() => Deno.removeSync(child.host));
    return E.SUCCESS;
  }

  fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, usedPtr: number): number {
    const { e, ref } = this.#dir(fd, R.FD_READDIR);
    if (cookie === 0n || e.listing === undefined) e.listing = { entries: this.#list(ref) };
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

  /**
   * ".", "..", the directory's entries and the mounts attached inside it. The directory is
   * the one the descriptor holds, reached again without following links (a removed one is
   * ENOENT, as getdents answers for it).
   */
  #list(ref: DirRef): { name: string; ino: bigint; type: number }[] {
    const at = this.ctx.vfs.locate(ref);
    const ino = (p: string) => {
      try {
        return BigInt(Deno.lstatSync(p).ino ?? 0);
      } catch {
        return 0n;
      }
    };
    const parentHost = at.stack.length === 0
      ? at.host
      : this.ctx.vfs.map(at.stack.slice(0, -1)).host;
    const entries: { name: string; ino: bigint; type: number }[] = [
      { name: ".", ino: BigInt(at.stat.ino ?? 0), type: FT.DIRECTORY },
      { name: "..", ino: ino(parentHost), type: FT.DIRECTORY },
    ];
    const seen = new Set<string>();
    for (const d of host(() => [...Deno.readDirSync(at.host)])) {
      seen.add(d.name);
      const path = `${at.host}/${d.name}`;
      const type = d.isDirectory
        ? FT.DIRECTORY
        : d.isFile
        ? FT.REGULAR_FILE
        : d.isSymlink
        ? FT.SYMBOLIC_LINK
        : (() => {
          try {
            return filetypeOf(Deno.lstatSync(path));
          } catch {
            return FT.UNKNOWN;
          }
        })();
      entries.push({ name: d.name, ino: ino(path), type });
    }
    for (const m of this.ctx.vfs.mountsIn(ref.guest)) {
      if (!seen.has(m)) entries.push({ name: m, ino: 0n, type: FT.DIRECTORY });
    }
    return entries;
  }
}
