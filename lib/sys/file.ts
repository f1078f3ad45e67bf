/**
 * Opening, reading and writing descriptors: the calls every command needs, kept apart from
 * syscalls.ts so that `state` and `list` (rawfs.ts, the state store) load only these.
 */
import { SyscallError } from "../errors.ts";
import { AT_FDCWD } from "../plan/abi.ts";
import { Errno } from "../plan/errno.ts";
import { cString } from "./libc.ts";
import { attempt, check, tryCall } from "./call.ts";

/** openat(2); returns the new fd. */
export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  return check("openat", path, dirfd, cString(path), flags, mode);
}

/** open(2) relative to the cwd. */
export function open(path: string, flags: number, mode = 0): number {
  return openat(AT_FDCWD, path, flags, mode);
}

/** openat(2) that returns the errno instead of throwing (fd -1 then). */
export function tryOpenat(
  dirfd: number,
  path: string,
  flags: number,
  mode = 0,
): { fd: number; errno: number } {
  const r = tryCall("openat", dirfd, cString(path), flags, mode);
  return { fd: r.n, errno: r.errno };
}

/** openat2(2); returns the fd, or the errno when it fails. */
export function tryOpenat2(
  dirfd: number,
  path: string,
  flags: number,
  resolve: number,
  mode = 0,
): { fd: number; errno: number } {
  const how = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(resolve)]);
  const p = cString(path);
  // With RESOLVE_IN_ROOT the kernel answers EAGAIN when a mount or rename anywhere raced with
  // resolving "..": retry, as its documentation asks.
  for (let tries = 0;; tries++) {
    const r = tryCall("openat2", dirfd, p, new Uint8Array(how.buffer), 24);
    if (r.errno === Errno.EAGAIN && tries < 1000) continue;
    return { fd: r.n, errno: r.errno };
  }
}

/** read(2) into `buf`; returns the byte count (0 at end of file). */
export function read(fd: number, buf: Uint8Array, what = `fd ${fd}`): number {
  return check("read", what, fd, buf, buf.length);
}

/** read(2) that returns the errno instead of throwing (for non-blocking reads). */
export function tryRead(fd: number, buf: Uint8Array): { n: number; errno: number } {
  return tryCall("read", fd, buf, buf.length);
}

/** One write(2): how much of `buf` went, or the errno (EAGAIN on a full non-blocking fd). */
export function writeSome(fd: number, buf: Uint8Array): { n: number; errno: number } {
  const r = tryCall("write", fd, buf, buf.length);
  return r.errno === 0 ? r : { n: 0, errno: r.errno };
}

/** write(2) of all of `buf`. */
export function writeAll(fd: number, buf: Uint8Array, what = `fd ${fd}`): void {
  let off = 0;
  while (off < buf.length) {
    const chunk = buf.subarray(off);
    off += check("write", what, fd, chunk, chunk.length);
  }
}

/** Reads an open file to its end; `what` names it in errors. */
export function readToEnd(fd: number, what: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const buf = new Uint8Array(total < 65536 ? 16384 : 262144);
    const r = attempt("read", fd, buf, buf.length);
    if (r.ret < 0n) throw new SyscallError("read", what, r.errno);
    if (r.ret === 0n) break;
    chunks.push(buf.subarray(0, Number(r.ret)));
    total += Number(r.ret);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** readlinkat(2); undefined when the path is not a symlink or does not exist. */
export function readlinkat(dirfd: number, path: string): string | undefined {
  const buf = new Uint8Array(4096);
  const r = attempt("readlinkat", dirfd, cString(path), buf, buf.length);
  if (r.ret < 0n) return undefined;
  return new TextDecoder().decode(buf.subarray(0, Number(r.ret)));
}
