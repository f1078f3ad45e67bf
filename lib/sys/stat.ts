/**
 * stat(2) through newfstatat, decoded once: the one reader of `struct stat` in denki, for both
 * architectures, and the file-time call beside it. Kept small and apart from syscalls.ts so
 * that `state`, `list` and the Wasm guest's thread load only what they use.
 */
import { SyscallError } from "../errors.ts";
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, S_IFMT } from "../plan/abi.ts";
import { cString } from "./libc.ts";
import { attempt } from "./call.ts";

/** The fields of struct stat denki uses; times in nanoseconds since the epoch. */
export interface Stat {
  dev: bigint;
  ino: bigint;
  /** File type and permission bits. */
  mode: number;
  nlink: bigint;
  uid: number;
  gid: number;
  rdev: bigint;
  size: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

/** Room for struct stat on every architecture (x86_64: 144 bytes, aarch64: 128). */
export const STAT_BUFFER_SIZE = 256;

/**
 * Decodes a struct stat filled by the kernel. x86_64 has a 64-bit st_nlink before st_mode;
 * aarch64 (asm-generic) has st_mode first and a 32-bit st_nlink after it. From st_size on the
 * two layouts agree.
 */
export function decodeStat(buf: Uint8Array, arch: string = Deno.build.arch): Stat {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const time = (off: number) =>
    v.getBigInt64(off, true) * 1_000_000_000n + v.getBigInt64(off + 8, true);
  const arm = arch === "aarch64";
  return {
    dev: v.getBigUint64(0, true),
    ino: v.getBigUint64(8, true),
    mode: v.getUint32(arm ? 16 : 24, true),
    nlink: arm ? BigInt(v.getUint32(20, true)) : v.getBigUint64(16, true),
    uid: v.getUint32(arm ? 24 : 28, true),
    gid: v.getUint32(arm ? 28 : 32, true),
    rdev: v.getBigUint64(arm ? 32 : 40, true),
    size: v.getBigInt64(48, true),
    atim: time(72),
    mtim: time(88),
    ctim: time(104),
  };
}

/** newfstatat(2): the stat of `path` relative to `dirfd` (flags AT_*), or the errno. */
export function fstatat(dirfd: number, path: string, flags: number): Stat | { errno: number } {
  const buf = new Uint8Array(STAT_BUFFER_SIZE);
  const r = attempt("newfstatat", dirfd, cString(path), buf, flags);
  return r.ret < 0n ? { errno: r.errno } : decodeStat(buf);
}

/** The stat of `path`, or undefined when it cannot be examined (missing, no access, ...). */
function statOrUndefined(dirfd: number, path: string, flags: number): Stat | undefined {
  const st = fstatat(dirfd, path, flags);
  return "errno" in st ? undefined : st;
}

/** lstat of `path` relative to `dirfd` (no symlink followed; "" is the fd itself). */
export function statAt(dirfd: number, path = ""): Stat | undefined {
  const flags = AT_SYMLINK_NOFOLLOW | (path === "" ? AT_EMPTY_PATH : 0);
  return statOrUndefined(dirfd, path, flags);
}

/** The st_mode of a path (type and permission bits), or undefined when it is missing. */
export function statMode(
  dirfd: number,
  path: string,
  flags = AT_SYMLINK_NOFOLLOW,
): number | undefined {
  return statOrUndefined(dirfd, path, flags)?.mode;
}

/** The file type bits of a path (S_IFDIR, S_IFREG, ...), or undefined when it is missing. */
export function fileType(
  dirfd: number,
  path: string,
  flags = AT_SYMLINK_NOFOLLOW,
): number | undefined {
  const mode = statMode(dirfd, path, flags);
  return mode === undefined ? undefined : mode & S_IFMT;
}

/** The (dev, ino) of an fd or a path as "dev:ino", or undefined when it does not exist. */
export function fileId(dirfd: number, path: string, flags = 0): string | undefined {
  const st = statOrUndefined(dirfd, path, flags);
  return st === undefined ? undefined : `${st.dev}:${st.ino}`;
}

/** A file time for `utimens`: nanoseconds since the epoch, "now", or undefined to leave it. */
export type FileTime = bigint | "now" | undefined;

const UTIME_NOW = (1n << 30n) - 1n;
const UTIME_OMIT = (1n << 30n) - 2n;

/** utimensat(2) of a path relative to the cwd; returns the errno (0 on success). */
export function utimens(path: string, follow: boolean, atim: FileTime, mtim: FileTime): number {
  const spec = (t: FileTime): [bigint, bigint] =>
    t === undefined
      ? [0n, UTIME_OMIT]
      : t === "now"
      ? [0n, UTIME_NOW]
      : [t / 1_000_000_000n, t % 1_000_000_000n];
  const times = new BigInt64Array([...spec(atim), ...spec(mtim)]);
  const flags = follow ? 0 : AT_SYMLINK_NOFOLLOW;
  const r = attempt("utimensat", AT_FDCWD, cString(path), new Uint8Array(times.buffer), flags);
  return r.ret < 0n ? r.errno : 0;
}

const STATX_MNT_ID = 0x1000;
const STATX_MNT_ID_UNIQUE = 0x4000;
/** Offset of stx_mnt_id in struct statx. */
const STX_MNT_ID = 0x90;

/**
 * The ID of the mount an fd is on (statx); `unique` asks for STATX_MNT_ID_UNIQUE, which is
 * never reused (Linux 6.8+). Undefined when the kernel does not report the one asked for.
 */
export function mountIdOf(fd: number, unique: boolean): bigint | undefined {
  const mask = unique ? STATX_MNT_ID_UNIQUE : STATX_MNT_ID;
  const buf = new Uint8Array(256);
  const r = attempt("statx", fd, cString(""), AT_EMPTY_PATH, mask, buf);
  if (r.ret < 0n) throw new SyscallError("statx", `fd ${fd}`, r.errno);
  const v = new DataView(buf.buffer);
  const got = (v.getUint32(0, true) & mask) !== 0; // stx_mask: what the kernel filled in
  return got ? v.getBigUint64(STX_MNT_ID, true) : undefined;
}
