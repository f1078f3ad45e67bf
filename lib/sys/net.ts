/**
 * Socket calls on plain descriptors (the Wasm guest's preopened sockets) and the interface
 * flag ioctls that bring a network namespace's loopback up. Unix sockets with descriptor
 * passing are in unix.ts.
 */
import { SyscallError } from "../errors.ts";
import {
  AF_INET,
  AF_UNIX,
  MSG_NOSIGNAL,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
} from "../plan/abi.ts";
import { cString } from "./libc.ts";
import { check, close, tryCall } from "./call.ts";

/** accept4(2) on a listening socket: the new socket (close-on-exec), or the errno. */
export function accept(fd: number, nonblock: boolean): { n: number; errno: number } {
  return tryCall("accept4", fd, 0, 0, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
}

/** recv(2) into `buf` with MSG_* `flags`: the byte count, or the errno. */
export function recv(fd: number, buf: Uint8Array, flags: number): { n: number; errno: number } {
  return tryCall("recvfrom", fd, buf, buf.length, flags, 0, 0);
}

/** send(2) of `buf` (MSG_NOSIGNAL: a closed peer is EPIPE, not a signal): bytes sent, or errno. */
export function send(fd: number, buf: Uint8Array): { n: number; errno: number } {
  return tryCall("sendto", fd, buf, buf.length, MSG_NOSIGNAL, 0, 0);
}

/** shutdown(2) (how: 0 reading, 1 writing, 2 both); the errno, 0 on success. */
export function shutdown(fd: number, how: number): number {
  return tryCall("shutdown", fd, how).errno;
}

const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
/** struct ifreq: a 16-byte name, then a union whose first member is short ifr_flags. */
const IFREQ_SIZE = 40;

/** Sets IFF_UP on the network interface `name` of the caller's network namespace. */
export function interfaceUp(name: string): void {
  // Interface ioctls work on any socket; a kernel without IPv4 still has unix sockets.
  let sock = tryCall("socket", AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock.errno !== 0) sock = tryCall("socket", AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock.errno !== 0) throw new SyscallError("socket", name, sock.errno);
  try {
    const req = new Uint8Array(IFREQ_SIZE);
    req.set(cString(name).subarray(0, 15));
    const view = new DataView(req.buffer);
    check("ioctl", `SIOCGIFFLAGS ${name}`, sock.n, SIOCGIFFLAGS, req);
    view.setUint16(16, view.getUint16(16, true) | IFF_UP, true);
    check("ioctl", `SIOCSIFFLAGS ${name}`, sock.n, SIOCSIFFLAGS, req);
  } finally {
    close(sock.n);
  }
}
