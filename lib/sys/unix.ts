/**
 * Unix stream sockets with descriptor passing (SCM_RIGHTS): the console socket a caller
 * gives `--console-socket` receives the pty master this way, and a seccomp listener receives
 * the notify fd. Raw syscalls on the calling thread, like the rest of lib/sys.
 */
import { SyscallError } from "../errors.ts";
import {
  AF_UNIX,
  MSG_CMSG_CLOEXEC,
  SCM_RIGHTS,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../plan/abi.ts";
import { Errno } from "../plan/errno.ts";
import { check, close } from "./call.ts";

/** sun_path's size in struct sockaddr_un. */
const SUN_PATH_MAX = 108;

const addr = (buf: Uint8Array) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));

/** struct sockaddr_un for a filesystem path (too long a path is an error, not a truncation). */
function sockaddr(path: string): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length >= SUN_PATH_MAX) {
    throw new SyscallError("connect", path, Errno.ENAMETOOLONG);
  }
  const sa = new Uint8Array(2 + SUN_PATH_MAX);
  new DataView(sa.buffer).setUint16(0, AF_UNIX, true);
  sa.set(bytes, 2);
  return sa;
}

function newSocket(what: string): number {
  return check("socket", what, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/** Connects a new close-on-exec stream socket to the unix socket at `path`. */
export function connectUnix(path: string): number {
  const fd = newSocket(path);
  try {
    const sa = sockaddr(path);
    check("connect", path, fd, sa, sa.length);
    return fd;
  } catch (err) {
    close(fd);
    throw err;
  }
}

/** A listening unix socket at `path` (for tests and receivers). */
export function listenUnix(path: string, backlog = 8): number {
  const fd = newSocket(path);
  try {
    const sa = sockaddr(path);
    check("bind", path, fd, sa, sa.length);
    check("listen", path, fd, backlog);
    return fd;
  } catch (err) {
    close(fd);
    throw err;
  }
}

/** Accepts one connection (blocking); the new socket is close-on-exec. */
export function acceptUnix(fd: number): number {
  return check("accept4", `fd ${fd}`, fd, 0, 0, SOCK_CLOEXEC);
}

/** struct msghdr with one iovec and room for `fds` descriptors; keeps its buffers alive. */
function msghdr(data: Uint8Array, fdCount: number) {
  const iov = new Uint8Array(16);
  const iv = new DataView(iov.buffer);
  iv.setBigUint64(0, addr(data), true);
  iv.setBigUint64(8, BigInt(data.length), true);
  // CMSG_SPACE: a 16-byte header, then the ints rounded up to 8 bytes.
  const control = new Uint8Array(fdCount === 0 ? 0 : 16 + Math.ceil((fdCount * 4) / 8) * 8);
  const msg = new Uint8Array(56);
  const mv = new DataView(msg.buffer);
  mv.setBigUint64(16, addr(iov), true);
  mv.setBigUint64(24, 1n, true);
  if (control.length > 0) {
    mv.setBigUint64(32, addr(control), true);
    mv.setBigUint64(40, BigInt(control.length), true);
  }
  return { msg, iov, control, data };
}

/** Sends `data` (at least one byte) and the descriptors `fds` in one message. */
export function sendWithFds(sock: number, data: Uint8Array, fds: readonly number[]): void {
  if (data.length === 0) throw new Error("sendWithFds: a message needs at least one byte");
  const m = msghdr(data, fds.length);
  if (fds.length > 0) {
    const cv = new DataView(m.control.buffer);
    cv.setBigUint64(0, BigInt(16 + fds.length * 4), true);
    cv.setInt32(8, SOL_SOCKET, true);
    cv.setInt32(12, SCM_RIGHTS, true);
    fds.forEach((fd, i) => cv.setInt32(16 + i * 4, fd, true));
  }
  const sent = check("sendmsg", `fd ${sock}`, sock, m.msg, 0);
  void m.iov;
  if (sent < data.length) {
    // The descriptors went with the first part; the rest of a stream message follows plainly.
    let off = sent;
    while (off < data.length) {
      const rest = data.subarray(off);
      off += check("write", `fd ${sock}`, sock, rest, rest.length);
    }
  }
}

/** Receives one message of up to `max` bytes and up to `maxFds` descriptors (close-on-exec). */
export function recvWithFds(
  sock: number,
  max = 65536,
  maxFds = 4,
): { data: Uint8Array; fds: number[] } {
  const data = new Uint8Array(max);
  const m = msghdr(data, maxFds);
  const n = check("recvmsg", `fd ${sock}`, sock, m.msg, MSG_CMSG_CLOEXEC);
  void m.iov;
  const fds: number[] = [];
  const mv = new DataView(m.msg.buffer);
  const controlLen = Number(mv.getBigUint64(40, true));
  const cv = new DataView(m.control.buffer);
  for (let off = 0; off + 16 <= controlLen;) {
    const len = Number(cv.getBigUint64(off, true));
    if (len < 16) break;
    if (cv.getInt32(off + 8, true) === SOL_SOCKET && cv.getInt32(off + 12, true) === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(cv.getInt32(p, true));
    }
    off += 16 + Math.ceil((len - 16) / 8) * 8;
  }
  return { data: data.subarray(0, n), fds };
}
