/** The loopback interface of a new network namespace, which the kernel creates down. */
import { DenkiError, SyscallError } from "../errors.ts";
import { cString, syscall } from "../sys/libc.ts";

const AF_INET = 2;
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
/** struct ifreq: a 16-byte name, then a union whose first member is short ifr_flags. */
const IFREQ_SIZE = 40;

/** Brings `lo` up, as runc does for every network namespace it makes. */
export function bringLoopbackUp(): void {
  // Interface ioctls work on any socket; a kernel without IPv4 still has unix sockets.
  let sock = syscall("socket", AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock.ret < 0n) sock = syscall("socket", AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock.ret < 0n) {
    throw new DenkiError(
      `cannot bring lo up: ${new SyscallError("socket", "lo", sock.errno).message}`,
    );
  }
  try {
    const req = new Uint8Array(IFREQ_SIZE);
    req.set(cString("lo"));
    const view = new DataView(req.buffer);
    const get = syscall("ioctl", sock.ret, SIOCGIFFLAGS, req);
    if (get.ret < 0n) throw new SyscallError("ioctl", "SIOCGIFFLAGS lo", get.errno);
    view.setUint16(16, view.getUint16(16, true) | IFF_UP, true);
    const set = syscall("ioctl", sock.ret, SIOCSIFFLAGS, req);
    if (set.ret < 0n) throw new SyscallError("ioctl", "SIOCSIFFLAGS lo", set.errno);
  } catch (err) {
    throw new DenkiError(`cannot bring lo up: ${(err as Error).message}`);
  } finally {
    syscall("close", sock.ret);
  }
}
