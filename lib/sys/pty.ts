/**
 * Pseudo-terminals and terminal modes through raw ioctls: allocating a pty pair from a devpts
 * instance, window sizes, the controlling terminal, and raw mode for a relay. The request
 * numbers below are the generic ones (the same on x86_64 and aarch64).
 */
import { SyscallError } from "../errors.ts";
import { cString, syscall, type SyscallArg } from "./libc.ts";

const TCGETS = 0x5401;
const TCSETS = 0x5402;
const TIOCSCTTY = 0x540e;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCGPTPEER = 0x5441;

const O_RDWR = 2;
const O_NOCTTY = 0o400;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const F_GETFL = 3;
const F_SETFL = 4;
const EINTR = 4;
const EINVAL = 22;
const ENOTTY = 25;

/** poll(2) event bits. */
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

function call(name: "ioctl" | "openat" | "dup3" | "fcntl", what: string, ...args: SyscallArg[]) {
  for (;;) {
    const r = syscall(name, ...args);
    if (r.ret >= 0n) return Number(r.ret);
    if (r.errno !== EINTR) throw new SyscallError(name, what, r.errno);
  }
}

/** Opens a pty multiplexer (a new master), e.g. the container's /dev/ptmx. */
export function openPtmx(path = "/dev/ptmx"): number {
  return call("openat", path, AT_FDCWD, cString(path), O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
}

/** Unlocks the peer of a new master so it can be opened (unlockpt). */
export function unlockPty(master: number): void {
  call("ioctl", `TIOCSPTLCK fd ${master}`, master, TIOCSPTLCK, new Uint8Array(4));
}

/** The number N of a master's peer, /dev/pts/N in the devpts it came from (ptsname). */
export function ptyNumber(master: number): number {
  const n = new Int32Array(1);
  call("ioctl", `TIOCGPTN fd ${master}`, master, TIOCGPTN, new Uint8Array(n.buffer));
  return n[0]!;
}

/**
 * Opens a master's peer (O_RDWR|O_NOCTTY, close-on-exec). TIOCGPTPEER (Linux 4.13) opens it
 * without a path lookup; older kernels get the path in `ptsDir`, /dev/pts by default.
 */
export function openPeer(master: number, ptsDir = "/dev/pts"): number {
  const flags = O_RDWR | O_NOCTTY | O_CLOEXEC;
  for (;;) {
    const r = syscall("ioctl", master, TIOCGPTPEER, flags);
    if (r.ret >= 0n) return Number(r.ret);
    if (r.errno === EINTR) continue;
    if (r.errno !== EINVAL && r.errno !== ENOTTY) {
      throw new SyscallError("ioctl", `TIOCGPTPEER fd ${master}`, r.errno);
    }
    break;
  }
  const path = `${ptsDir}/${ptyNumber(master)}`;
  return call("openat", path, AT_FDCWD, cString(path), flags, 0);
}

/** A terminal's window size, in character cells. */
export interface WindowSize {
  rows: number;
  cols: number;
}

/** Sets a terminal's window size (struct winsize: rows, cols, then two unused u16). */
export function setWindowSize(fd: number, size: WindowSize): void {
  const ws = new Uint16Array([size.rows, size.cols, 0, 0]);
  call("ioctl", `TIOCSWINSZ fd ${fd}`, fd, TIOCSWINSZ, new Uint8Array(ws.buffer));
}

/** A terminal's window size, or undefined when `fd` is not a terminal. */
export function getWindowSize(fd: number): WindowSize | undefined {
  const ws = new Uint16Array(4);
  const r = syscall("ioctl", fd, TIOCGWINSZ, new Uint8Array(ws.buffer));
  if (r.ret < 0n) return undefined;
  return { rows: ws[0]!, cols: ws[1]! };
}

/** Makes `fd` the controlling terminal of the calling session leader (TIOCSCTTY). */
export function setControllingTerminal(fd: number): void {
  call("ioctl", `TIOCSCTTY fd ${fd}`, fd, TIOCSCTTY, 0);
}

/** dup3(2) of `fd` onto `target`, without close-on-exec on the copy. */
export function dupOnto(fd: number, target: number): void {
  call("dup3", `fd ${fd} onto ${target}`, fd, target, 0);
}

/** One write(2): how much of `buf` went, or the errno (EAGAIN on a full non-blocking fd). */
export function writeSome(fd: number, buf: Uint8Array): { n: number; errno: number } {
  for (;;) {
    const r = syscall("write", fd, buf, buf.length);
    if (r.ret >= 0n) return { n: Number(r.ret), errno: 0 };
    if (r.errno !== EINTR) return { n: 0, errno: r.errno };
  }
}

/** Sets O_NONBLOCK on an open file description. */
export function setNonblocking(fd: number): void {
  const flags = call("fcntl", `fd ${fd}`, fd, F_GETFL, 0);
  call("fcntl", `fd ${fd}`, fd, F_SETFL, flags | O_NONBLOCK);
}

/** Size of the kernel's struct termios (TCGETS): four u32 flags, c_line, c_cc[19]. */
const TERMIOS_SIZE = 36;

/** A terminal's settings (the raw struct), or undefined when `fd` is not a terminal. */
export function getTermios(fd: number): Uint8Array | undefined {
  const t = new Uint8Array(TERMIOS_SIZE);
  const r = syscall("ioctl", fd, TCGETS, t);
  return r.ret < 0n ? undefined : t;
}

/** Applies settings read by getTermios (TCSETS: at once). */
export function setTermios(fd: number, termios: Uint8Array): void {
  call("ioctl", `TCSETS fd ${fd}`, fd, TCSETS, termios);
}

/** True when `fd` is a terminal. */
export function isTerminal(fd: number): boolean {
  return getTermios(fd) !== undefined;
}

// termios flag bits (asm-generic/termbits.h) that raw mode clears or sets.
const IFLAG_RAW_OFF = 0o1 | 0o2 | 0o10 | 0o40 | 0o100 | 0o200 | 0o400 | 0o2000; // IGNBRK..IXON
const OPOST = 0o1;
const LFLAG_RAW_OFF = 0o10 | 0o100 | 0o2 | 0o1 | 0o100000; // ECHO ECHONL ICANON ISIG IEXTEN
const CSIZE = 0o60;
const PARENB = 0o400;
const CS8 = 0o60;
const C_CC = 17;
const VTIME = 5;
const VMIN = 6;

/**
 * The settings of cfmakeraw(3) applied to a copy of `termios`: bytes pass unchanged, no echo,
 * no line editing, no signals from keys, one byte satisfies a read.
 */
export function makeRaw(termios: Uint8Array): Uint8Array {
  const t = termios.slice();
  const v = new DataView(t.buffer);
  v.setUint32(0, v.getUint32(0, true) & ~IFLAG_RAW_OFF, true);
  v.setUint32(4, v.getUint32(4, true) & ~OPOST, true);
  v.setUint32(8, (v.getUint32(8, true) & ~(CSIZE | PARENB)) | CS8, true);
  v.setUint32(12, v.getUint32(12, true) & ~LFLAG_RAW_OFF, true);
  t[C_CC + VMIN] = 1;
  t[C_CC + VTIME] = 0;
  return t;
}

/** One descriptor to watch and what happened to it. */
export interface PollFd {
  fd: number;
  events: number;
  revents?: number;
}

/**
 * ppoll(2) of several descriptors for up to `timeoutMs`; fills in `revents` and returns how
 * many are ready (0 on timeout or when interrupted by a signal).
 */
export function pollFds(fds: PollFd[], timeoutMs: number): number {
  const buf = new Uint8Array(8 * fds.length);
  const view = new DataView(buf.buffer);
  fds.forEach((p, i) => {
    view.setInt32(i * 8, p.fd, true);
    view.setInt16(i * 8 + 4, p.events, true);
  });
  const ts = new BigInt64Array([
    BigInt(Math.floor(timeoutMs / 1000)),
    BigInt((timeoutMs % 1000) * 1e6),
  ]);
  const r = syscall("ppoll", buf, fds.length, new Uint8Array(ts.buffer), 0, 8);
  fds.forEach((p, i) => (p.revents = r.ret > 0n ? view.getInt16(i * 8 + 6, true) : 0));
  if (r.ret < 0n && r.errno !== EINTR) throw new SyscallError("ppoll", "fds", r.errno);
  return r.ret > 0n ? Number(r.ret) : 0;
}
