/**
 * File status for the WASI host: filetypes, the filestat record, stat of a host path (with
 * nanosecond times through `Native` when the thread may use FFI) and setting file times.
 */
import {
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
} from "../../../lib/plan/abi.ts";
import { errnoOf, host, linuxErrno, WasiError } from "./errno.ts";
import type { FsContext } from "./fs.ts";
import type { GuestMemory } from "./memory.ts";
import type { NativeStat } from "./native.ts";
import { E, FST, FT } from "./types.ts";

const MS = 1_000_000n;

/** The WASI filetype of a Deno FileInfo. */
export function filetypeOf(info: Deno.FileInfo): number {
  if (info.isFile) return FT.REGULAR_FILE;
  if (info.isDirectory) return FT.DIRECTORY;
  if (info.isSymlink) return FT.SYMBOLIC_LINK;
  if (info.isCharDevice) return FT.CHARACTER_DEVICE;
  if (info.isBlockDevice) return FT.BLOCK_DEVICE;
  if (info.isSocket) return FT.SOCKET_STREAM;
  return FT.UNKNOWN;
}

/** The WASI filetype of st_mode bits. */
export function filetypeOfMode(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return FT.REGULAR_FILE;
    case S_IFDIR:
      return FT.DIRECTORY;
    case S_IFLNK:
      return FT.SYMBOLIC_LINK;
    case S_IFCHR:
      return FT.CHARACTER_DEVICE;
    case S_IFBLK:
      return FT.BLOCK_DEVICE;
    case S_IFSOCK:
      return FT.SOCKET_STREAM;
    default:
      return FT.UNKNOWN;
  }
}

/** A filestat record in guest memory (64 bytes). */
export interface Filestat {
  dev: bigint;
  ino: bigint;
  filetype: number;
  nlink: bigint;
  size: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

/** Writes a filestat at ptr. */
export function writeFilestat(mem: GuestMemory, ptr: number, st: Filestat): void {
  mem.slice(ptr, 64).fill(0);
  mem.setU64(ptr, st.dev);
  mem.setU64(ptr + 8, st.ino);
  mem.setU8(ptr + 16, st.filetype);
  mem.setU64(ptr + 24, st.nlink);
  mem.setU64(ptr + 32, st.size);
  mem.setU64(ptr + 40, st.atim);
  mem.setU64(ptr + 48, st.mtim);
  mem.setU64(ptr + 56, st.ctim);
}

export function fromNative(s: NativeStat): Filestat {
  return {
    dev: s.dev,
    ino: s.ino,
    filetype: filetypeOfMode(s.mode),
    nlink: s.nlink,
    size: s.size,
    atim: s.atim,
    mtim: s.mtim,
    ctim: s.ctim,
  };
}

export function fromDeno(info: Deno.FileInfo): Filestat {
  const ns = (d: Date | null) => (d === null ? 0n : BigInt(d.getTime()) * MS);
  return {
    dev: BigInt(info.dev),
    ino: BigInt(info.ino ?? 0),
    filetype: filetypeOf(info),
    nlink: BigInt(info.nlink ?? 1),
    size: BigInt(info.size),
    atim: ns(info.atime),
    mtim: ns(info.mtime),
    ctim: ns(info.ctime),
  };
}

/** stat (or lstat) of a host path, with nanosecond times when Native is there. */
export function statPath(ctx: FsContext, host: string, follow: boolean): Filestat {
  if (ctx.native) {
    const s = ctx.native.stat(host, follow);
    if ("errno" in s) throw new WasiError(linuxErrno(s.errno));
    return fromNative(s);
  }
  try {
    return fromDeno(follow ? Deno.statSync(host) : Deno.lstatSync(host));
  } catch (err) {
    throw new WasiError(errnoOf(err));
  }
}

/** Times to set: a value in ns, "now", or undefined to leave one alone. */
export type Times = { a: bigint | "now" | undefined; m: bigint | "now" | undefined };

/** The times fstflags ask for, or EINVAL for contradicting or unknown flags. */
export function wantedTimes(atim: bigint, mtim: bigint, fst: number): Times | number {
  if ((fst & FST.ATIM && fst & FST.ATIM_NOW) || (fst & FST.MTIM && fst & FST.MTIM_NOW)) {
    return E.INVAL;
  }
  if (fst & ~0xf) return E.INVAL;
  return {
    a: fst & FST.ATIM ? atim : fst & FST.ATIM_NOW ? "now" : undefined,
    m: fst & FST.MTIM ? mtim : fst & FST.MTIM_NOW ? "now" : undefined,
  };
}

/**
 * The Dates for Deno's utime calls (which cannot leave one alone): a Date carries whole
 * milliseconds exactly (seconds as a float would not: x.324 s comes back as x.323999...).
 */
export function dates(t: Times, cur: Filestat): [Date, Date] {
  const now = BigInt(Date.now()) * MS;
  const pick = (v: bigint | "now" | undefined, keep: bigint) =>
    v === undefined ? keep : v === "now" ? now : v;
  const date = (ns: bigint) => new Date(Number(ns / MS));
  return [date(pick(t.a, cur.atim)), date(pick(t.m, cur.mtim))];
}

/** Sets atime/mtime of a host path per fstflags. */
export function setTimes(
  ctx: FsContext,
  hostPath: string,
  follow: boolean,
  atim: bigint,
  mtim: bigint,
  fst: number,
): number {
  const t = wantedTimes(atim, mtim, fst);
  if (typeof t === "number") return t;
  if (ctx.native) {
    const errno = ctx.native.utimens(hostPath, follow, t.a, t.m);
    return errno === 0 ? E.SUCCESS : linuxErrno(errno);
  }
  // Deno's utime follows links.
  const cur = statPath(ctx, hostPath, follow);
  host(() => Deno.utimeSync(hostPath, ...dates(t, cur)));
  return E.SUCCESS;
}
