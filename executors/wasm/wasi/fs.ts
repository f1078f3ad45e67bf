/**
 * WASI descriptor operations (fd_*) on files, directories and stdio, with Deno's synchronous
 * file APIs (and nanosecond times through `Native` when the thread may use FFI). Path
 * operations are in path.ts; file status and times are in stat.ts.
 *
 * A descriptor's stat and times come from its open handle (fstat, futimens), never from a
 * path that may since lead elsewhere; a path is used only for nanosecond times, and only when
 * it still leads to the descriptor's own inode.
 */
import { Errno } from "../../../lib/plan/errno.ts";
import { errnoOf, host, linuxErrno, WasiError } from "./errno.ts";
import { dirRef, type FdEntry, type FdTable } from "./fd_table.ts";
import type { GuestMemory } from "./memory.ts";
import type { Native, NativeStat } from "./native.ts";
import {
  dates,
  type Filestat,
  fromDeno,
  fromNative,
  setTimes,
  statPath,
  wantedTimes,
  writeFilestat,
} from "./stat.ts";
import { E, FDFLAGS, FT, R, WHENCE } from "./types.ts";
import type { Vfs } from "./vfs.ts";

/** What every file-system function needs. */
export interface FsContext {
  mem: GuestMemory;
  table: FdTable;
  vfs: Vfs;
  native: Native | undefined;
  /** Makes a symlink (Deno.symlinkSync, or the sandbox's broker). */
  symlink?: ((target: string, link: string) => void) | undefined;
  /** RLIMIT_FSIZE: the largest size a write may make a regular file (EFBIG beyond). */
  fsize?: number | undefined;
  /** The guest's stdio when it is not this process's fds 0-2. */
  stdio?: GuestStdio | undefined;
}

/** Where a guest's stdin comes from and its stdout and stderr go, when not fds 0-2. */
export interface GuestStdio {
  /** Reads into `buf`, blocking until data or end of file (0). */
  read(buf: Uint8Array): number;
  /** Writes all of `bytes` to stdout (1) or stderr (2). */
  write(fd: 1 | 2, bytes: Uint8Array): void;
}

/** Sleeps the thread (Atomics.wait on a private buffer: real sleeping, no busy loop). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
}

/** Writes all of `data` to a stdio stream, waiting out a non-blocking pipe that is full. */
function writeStream(stream: { writeSync(p: Uint8Array): number }, data: Uint8Array): number {
  let off = 0;
  while (off < data.length) {
    try {
      off += stream.writeSync(data.subarray(off));
    } catch (err) {
      if (err instanceof Deno.errors.WouldBlock) {
        sleepMs(1);
        continue;
      }
      if (off > 0) return off;
      throw new WasiError(errnoOf(err));
    }
  }
  return off;
}

/** The fd_* functions. */
export class FdOps {
  constructor(readonly ctx: FsContext) {}

  #file(fd: number, rights: bigint): FdEntry & { file: Deno.FsFile } {
    const e = this.ctx.table.get(fd, rights);
    if (e.kind === "dir") throw new WasiError(E.ISDIR);
    if (e.file === undefined) throw new WasiError(e.kind === "socket" ? E.SPIPE : E.SPIPE);
    return e as FdEntry & { file: Deno.FsFile };
  }

  fd_advise(fd: number, _offset: bigint, _len: bigint, advice: number): number {
    const e = this.ctx.table.get(fd, R.FD_ADVISE);
    if (advice > 5) return E.INVAL;
    if (e.kind === "dir") return E.BADF;
    return E.SUCCESS;
  }

  fd_allocate(fd: number, offset: bigint, len: bigint): number {
    const e = this.#file(fd, R.FD_ALLOCATE);
    const want = offset + len;
    if (want > BigInt(Number.MAX_SAFE_INTEGER) || this.#tooBig(e, want)) return E.FBIG;
    const size = BigInt(host(() => e.file.statSync()).size);
    if (want > size) host(() => e.file.truncateSync(Number(want)));
    return E.SUCCESS;
  }

  fd_close(fd: number): number {
    const e = this.ctx.table.take(fd);
    e.handle?.close();
    if (e.file) host(() => e.file!.close());
    if (e.kind === "socket" && e.socket !== undefined && !e.preopen) {
      this.ctx.native?.close(e.socket);
    }
    return E.SUCCESS;
  }

  fd_datasync(fd: number): number {
    const e = this.ctx.table.get(fd, R.FD_DATASYNC);
    const f = e.file ?? e.handle;
    if (f) host(() => f.syncDataSync());
    return E.SUCCESS;
  }

  fd_sync(fd: number): number {
    const e = this.ctx.table.get(fd, R.FD_SYNC);
    const f = e.file ?? e.handle;
    if (f) host(() => f.syncSync());
    return E.SUCCESS;
  }

  /** True when a regular file may not grow to `size` bytes (RLIMIT_FSIZE). */
  #tooBig(e: FdEntry, size: bigint): boolean {
    const max = this.ctx.fsize;
    return max !== undefined && e.filetype === FT.REGULAR_FILE && size > BigInt(max);
  }

  /**
   * The part of `bufs` a write at `pos` may put in a regular file under RLIMIT_FSIZE: cut at
   * the limit (a short write, as on Linux), or EFBIG when not a byte fits.
   */
  #fit(e: FdEntry, bufs: Uint8Array[], pos: number): Uint8Array[] {
    const max = this.ctx.fsize;
    if (max === undefined || e.filetype !== FT.REGULAR_FILE) return bufs;
    let room = max - pos;
    if (bufs.every((b) => b.length === 0)) return bufs;
    if (room <= 0) throw new WasiError(E.FBIG);
    const out: Uint8Array[] = [];
    for (const b of bufs) {
      if (room <= 0) break;
      out.push(b.subarray(0, room));
      room -= Math.min(b.length, room);
    }
    return out;
  }

  fd_fdstat_get(fd: number, ptr: number): number {
    const e = this.ctx.table.get(fd);
    const { mem } = this.ctx;
    mem.slice(ptr, 24).fill(0);
    mem.setU8(ptr, e.filetype);
    mem.setU16(ptr + 2, e.flags);
    mem.setU64(ptr + 8, e.rightsBase);
    mem.setU64(ptr + 16, e.rightsInheriting);
    return E.SUCCESS;
  }

  fd_fdstat_set_flags(fd: number, flags: number): number {
    const e = this.ctx.table.get(fd, R.FD_FDSTAT_SET_FLAGS);
    if (flags & ~0x1f) return E.INVAL;
    if ((flags & (FDFLAGS.DSYNC | FDFLAGS.RSYNC)) && !(e.rightsBase & R.FD_DATASYNC)) {
      return E.NOTCAPABLE;
    }
    if ((flags & FDFLAGS.SYNC) && !(e.rightsBase & R.FD_SYNC)) return E.NOTCAPABLE;
    e.flags = flags;
    return E.SUCCESS;
  }

  fd_fdstat_set_rights(fd: number, base: bigint, inheriting: bigint): number {
    const e = this.ctx.table.get(fd);
    // Rights can only be dropped, never added.
    if ((base & ~e.rightsBase) !== 0n || (inheriting & ~e.rightsInheriting) !== 0n) {
      return E.NOTCAPABLE;
    }
    e.rightsBase = base;
    e.rightsInheriting = inheriting;
    return E.SUCCESS;
  }

  /**
   * A nanosecond stat of a file or directory descriptor by its path, when FFI is there and
   * the path (not followed at its end) still leads to the descriptor's own inode.
   */
  #nativeStat(e: FdEntry): { path: string; stat: NativeStat } | undefined {
    if (!this.ctx.native || e.host === undefined || e.ino === undefined) return undefined;
    let path = e.host;
    if (e.kind === "dir") {
      try {
        path = this.ctx.vfs.locate(dirRef(e)).host;
      } catch {
        return undefined;
      }
    }
    const s = this.ctx.native.stat(path, false);
    if ("errno" in s || s.dev !== BigInt(e.dev ?? -1) || s.ino !== BigInt(e.ino)) return undefined;
    return { path, stat: s };
  }

  /** The filestat of an open descriptor. */
  statFd(e: FdEntry): Filestat {
    const exact = this.#nativeStat(e);
    if (exact) return fromNative(exact.stat);
    const handle = e.file ?? e.handle;
    if (handle) return fromDeno(host(() => handle.statSync()));
    if (e.kind === "dir") {
      // A directory that could not be opened: its path, checked to be the same inode.
      return statPath(this.ctx, this.ctx.vfs.locate(dirRef(e)).host, false);
    }
    const hostFd = e.kind === "stdin"
      ? 0
      : e.kind === "stdout"
      ? 1
      : e.kind === "stderr"
      ? 2
      : e.socket;
    if (this.ctx.native && hostFd !== undefined) {
      const s = this.ctx.native.fstat(hostFd);
      if (!("errno" in s)) return fromNative(s);
    }
    return {
      dev: 0n,
      ino: 0n,
      filetype: e.filetype,
      nlink: 1n,
      size: 0n,
      atim: 0n,
      mtim: 0n,
      ctim: 0n,
    };
  }

  fd_filestat_get(fd: number, ptr: number): number {
    const e = this.ctx.table.get(fd, R.FD_FILESTAT_GET);
    writeFilestat(this.ctx.mem, ptr, this.statFd(e));
    return E.SUCCESS;
  }

  fd_filestat_set_size(fd: number, size: bigint): number {
    const e = this.#file(fd, R.FD_FILESTAT_SET_SIZE);
    if (size > BigInt(Number.MAX_SAFE_INTEGER) || this.#tooBig(e, size)) return E.FBIG;
    host(() => e.file.truncateSync(Number(size)));
    return E.SUCCESS;
  }

  fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, fst: number): number {
    const e = this.ctx.table.get(fd, R.FD_FILESTAT_SET_TIMES);
    const t = wantedTimes(atim, mtim, fst);
    if (typeof t === "number") return t;
    // Nanoseconds need a path (Deno's futimens takes Dates): only one checked to be this inode.
    const exact = this.#nativeStat(e);
    if (exact) return setTimes(this.ctx, exact.path, false, atim, mtim, fst);
    const handle = e.file ?? e.handle;
    if (handle) {
      const cur = fromDeno(host(() => handle.statSync()));
      host(() => handle.utimeSync(...dates(t, cur)));
      return E.SUCCESS;
    }
    if (e.kind === "dir") {
      const at = this.ctx.vfs.locate(dirRef(e));
      return setTimes(this.ctx, at.host, false, atim, mtim, fst);
    }
    return E.BADF;
  }

  fd_pread(fd: number, iovs: number, count: number, offset: bigint, nreadPtr: number): number {
    const e = this.#file(fd, R.FD_READ | R.FD_SEEK);
    const bufs = this.ctx.mem.iovecs(iovs, count);
    const total = atOffset(e.file, offset, (f) => readInto(f, bufs));
    this.ctx.mem.setU32(nreadPtr, total);
    return E.SUCCESS;
  }

  fd_pwrite(fd: number, iovs: number, count: number, offset: bigint, nwrittenPtr: number): number {
    const e = this.#file(fd, R.FD_WRITE | R.FD_SEEK);
    const all = this.ctx.mem.iovecs(iovs, count);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return E.FBIG;
    const bufs = this.#fit(e, all, Number(offset));
    const total = atOffset(e.file, offset, (f) => bufs.reduce((n, b) => n + writeFully(f, b), 0));
    this.ctx.mem.setU32(nwrittenPtr, total);
    return E.SUCCESS;
  }

  fd_prestat_get(fd: number, ptr: number): number {
    const e = this.ctx.table.get(fd);
    if (e.preopen === undefined || e.kind !== "dir") return E.BADF;
    this.ctx.mem.setU32(ptr, 0);
    this.ctx.mem.setU32(ptr + 4, new TextEncoder().encode(e.preopen).length);
    return E.SUCCESS;
  }

  fd_prestat_dir_name(fd: number, ptr: number, len: number): number {
    const e = this.ctx.table.get(fd);
    if (e.preopen === undefined || e.kind !== "dir") return E.BADF;
    const name = new TextEncoder().encode(e.preopen);
    if (len < name.length) return E.NAMETOOLONG;
    this.ctx.mem.write(ptr, name);
    return E.SUCCESS;
  }

  fd_read(fd: number, iovs: number, count: number, nreadPtr: number): number {
    const e = this.ctx.table.get(fd, R.FD_READ);
    const bufs = this.ctx.mem.iovecs(iovs, count);
    let total = 0;
    if (e.kind === "stdin") {
      const io = this.ctx.stdio;
      total = readInto(io ? { readSync: (b) => io.read(b) || null } : Deno.stdin, bufs);
    } else if (e.kind === "socket") {
      total = socketRead(this.ctx, e, bufs);
    } else if (e.file) {
      total = readInto(e.file, bufs);
    } else {
      return E.ISDIR;
    }
    this.ctx.mem.setU32(nreadPtr, total);
    return E.SUCCESS;
  }

  fd_write(fd: number, iovs: number, count: number, nwrittenPtr: number): number {
    const e = this.ctx.table.get(fd, R.FD_WRITE);
    const bufs = this.ctx.mem.iovecs(iovs, count);
    let total = 0;
    if ((e.kind === "stdout" || e.kind === "stderr") && this.ctx.stdio) {
      const data = concat(bufs);
      this.ctx.stdio.write(e.kind === "stdout" ? 1 : 2, data);
      total = data.length;
    } else if (e.kind === "stdout" || e.kind === "stderr") {
      const stream = e.kind === "stdout" ? Deno.stdout : Deno.stderr;
      // One write of the gathered buffers keeps lines from different iovecs together.
      total = writeStream(stream, concat(bufs));
    } else if (e.kind === "socket") {
      total = socketWrite(this.ctx, e, concat(bufs));
    } else if (e.file) {
      const f = e.file;
      const at = e.flags & FDFLAGS.APPEND
        ? host(() => f.seekSync(0, Deno.SeekMode.End))
        : this.ctx.fsize === undefined
        ? 0
        : host(() => f.seekSync(0, Deno.SeekMode.Current));
      for (const b of this.#fit(e, bufs, at)) total += writeFully(f, b);
      if (e.flags & FDFLAGS.SYNC) host(() => f.syncSync());
      else if (e.flags & FDFLAGS.DSYNC) host(() => f.syncDataSync());
    } else {
      return E.ISDIR;
    }
    this.ctx.mem.setU32(nwrittenPtr, total);
    return E.SUCCESS;
  }

  fd_renumber(from: number, to: number): number {
    const { table } = this.ctx;
    table.get(from);
    if (!table.has(to)) return E.BADF;
    if (from === to) return E.SUCCESS;
    const old = table.take(to);
    old.handle?.close();
    if (old.file) host(() => old.file!.close());
    table.set(to, table.take(from));
    return E.SUCCESS;
  }

  fd_seek(fd: number, offset: bigint, whence: number, newPtr: number): number {
    const needed = whence === WHENCE.CUR && offset === 0n ? R.FD_TELL : R.FD_SEEK;
    const e = this.ctx.table.get(fd, needed);
    if (whence > 2) return E.INVAL;
    if (e.kind === "dir") return E.BADF;
    if (e.file === undefined) return E.SPIPE;
    const f = e.file;
    const mode = [Deno.SeekMode.Start, Deno.SeekMode.Current, Deno.SeekMode.End][whence]!;
    if (offset > BigInt(Number.MAX_SAFE_INTEGER) || offset < -BigInt(Number.MAX_SAFE_INTEGER)) {
      return E.INVAL;
    }
    const pos = host(() => f.seekSync(Number(offset), mode));
    this.ctx.mem.setU64(newPtr, BigInt(pos));
    return E.SUCCESS;
  }

  fd_tell(fd: number, ptr: number): number {
    return this.fd_seek(fd, 0n, WHENCE.CUR, ptr);
  }
}

/** Runs `io` at `offset` and puts the file offset back (pread/pwrite leave it unmoved). */
function atOffset(f: Deno.FsFile, offset: bigint, io: (f: Deno.FsFile) => number): number {
  const saved = host(() => f.seekSync(0, Deno.SeekMode.Current));
  try {
    host(() => f.seekSync(Number(offset), Deno.SeekMode.Start));
    return io(f);
  } finally {
    host(() => f.seekSync(saved, Deno.SeekMode.Start));
  }
}

function concat(bufs: Uint8Array[]): Uint8Array {
  if (bufs.length === 1) return bufs[0]!;
  const total = bufs.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of bufs) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

/** Reads into iovecs until one comes back short (end of data for now). */
function readInto(src: { readSync(p: Uint8Array): number | null }, bufs: Uint8Array[]): number {
  let total = 0;
  for (const b of bufs) {
    if (b.length === 0) continue;
    let n: number | null;
    for (;;) {
      try {
        n = src.readSync(b);
        break;
      } catch (err) {
        if (err instanceof Deno.errors.WouldBlock && total === 0) throw new WasiError(E.AGAIN);
        if (err instanceof Deno.errors.Interrupted) continue;
        if (total > 0) return total;
        throw new WasiError(errnoOf(err));
      }
    }
    if (n === null || n === 0) break;
    total += n;
    if (n < b.length) break;
  }
  return total;
}

function writeFully(f: Deno.FsFile, b: Uint8Array): number {
  let off = 0;
  while (off < b.length) off += host(() => f.writeSync(b.subarray(off)));
  return off;
}

function socketRead(ctx: FsContext, e: FdEntry, bufs: Uint8Array[]): number {
  if (!ctx.native || e.socket === undefined) throw new WasiError(E.NOTSUP);
  let total = 0;
  for (const b of bufs) {
    const r = ctx.native.read(e.socket, b);
    if (typeof r !== "number") {
      if (total > 0) return total;
      throw new WasiError(linuxErrno(r.errno));
    }
    total += r;
    if (r < b.length) break;
  }
  return total;
}

function socketWrite(ctx: FsContext, e: FdEntry, data: Uint8Array): number {
  if (!ctx.native || e.socket === undefined) throw new WasiError(E.NOTSUP);
  let off = 0;
  while (off < data.length) {
    const r = ctx.native.send(e.socket, data.subarray(off));
    if (typeof r !== "number") {
      if (r.errno === Errno.EAGAIN && !(e.flags & FDFLAGS.NONBLOCK)) {
        sleepMs(1);
        continue;
      }
      if (off > 0) return off;
      throw new WasiError(linuxErrno(r.errno));
    }
    off += r;
  }
  return off;
}
