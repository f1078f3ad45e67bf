/**
 * Pseudo-terminals and terminal modes through raw ioctls: allocating a pty pair from a devpts
 * instance, window sizes, the controlling terminal, and raw mode for a relay. The request
 * numbers (lib/plan/abi.ts) are the generic ones, the same on x86_64 and aarch64.
 */
import { SyscallError } from "../errors.ts";
import {
  F_GETFL,
  F_SETFL,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDWR,
  TCGETS,
  TCSETS,
  TIOCGPTN,
  TIOCGPTPEER,
  TIOCGWINSZ,
  TIOCSCTTY,
  TIOCSPTLCK,
  TIOCSWINSZ,
} from "../plan/abi.ts";
import { Errno } from "../plan/errno.ts";
import { attempt, check } from "./call.ts";
import { open } from "./file.ts";
import { msToNs, type PollFd, ppoll } from "./poll.ts";

export { POLLERR, type PollFd, POLLHUP, POLLIN, POLLNVAL, POLLOUT } from "./poll.ts";
export { writeSome } from "./file.ts";

/** Opens a pty multiplexer (a new master), e.g. the container's /dev/ptmx. */
export function openPtmx(path = "/dev/ptmx"): number {
  return open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/** Unlocks the peer of a new master so it can be opened (unlockpt). */
export function unlockPty(master: number): void {
  check("ioctl", `TIOCSPTLCK fd ${master}`, master, TIOCSPTLCK, new Uint8Array(4));
}

/** The number N of a master's peer, /dev/pts/N in the devpts it came from (ptsname). */
export function ptyNumber(master: number): number {
  const n = new Int32Array(1);
  check("ioctl", `TIOCGPTN fd ${master}`, master, TIOCGPTN, new Uint8Array(n.buffer));
  return n[0]!;
}

/**
 * Opens a master's peer (O_RDWR|O_NOCTTY, close-on-exec). TIOCGPTPEER (Linux 4.13) opens it
 * without a path lookup; older kernels get the path in `ptsDir`, /dev/pts by default.
 */
export function openPeer(master: number, ptsDir = "/dev/pts"): number {
  const flags = O_RDWR | O_NOCTTY | O_CLOEXEC;
  const r = attempt("ioctl", master, TIOCGPTPEER, flags);
  if (r.ret >= 0n) return Number(r.ret);
  if (r.errno !== Errno.EINVAL && r.errno !== Errno.ENOTTY) {
    throw new SyscallError("ioctl", `TIOCGPTPEER fd ${master}`, r.errno);
  }
  const path = `${ptsDir}/${ptyNumber(master)}`;
  return open(path, flags);
}

/** A terminal's window size, in character cells. */
export interface WindowSize {
  rows: number;
  cols: number;
}

/** Sets a terminal's window size (struct winsize: rows, cols, then two unused u16). */
export function setWindowSize(fd: number, size: WindowSize): void {
  const ws = new Uint16Array([size.rows, size.cols, 0, 0]);
  check("ioctl", `TIOCSWINSZ fd ${fd}`, fd, TIOCSWINSZ, new Uint8Array(ws.buffer));
}

/** A terminal's window size, or undefined when `fd` is not a terminal. */
export function getWindowSize(fd: number): WindowSize | undefined {
  const ws = new Uint16Array(4);
  const r = attempt("ioctl", fd, TIOCGWINSZ, new Uint8Array(ws.buffer));
  if (r.ret < 0n) return undefined;
  return { rows: ws[0]!, cols: ws[1]! };
}

/** Makes `fd` the controlling terminal of the calling session leader (TIOCSCTTY). */
export function setControllingTerminal(fd: number): void {
  check("ioctl", `TIOCSCTTY fd ${fd}`, fd, TIOCSCTTY, 0);
}

/** dup3(2) of `fd` onto `target`, without close-on-exec on the copy. */
export function dupOnto(fd: number, target: number): void {
  check("dup3", `fd ${fd} onto ${target}`, fd, target, 0);
}

/** Sets O_NONBLOCK on an open file description. */
export function setNonblocking(fd: number): void {
  const flags = check("fcntl", `fd ${fd}`, fd, F_GETFL, 0);
  check("fcntl", `fd ${fd}`, fd, F_SETFL, flags | O_NONBLOCK);
}

/** Size of the kernel's struct termios (TCGETS): four u32 flags, c_line, c_cc[19]. */
const TERMIOS_SIZE = 36;

/** A terminal's settings (the raw struct), or undefined when `fd` is not a terminal. */
export function getTermios(fd: number): Uint8Array | undefined {
  const t = new Uint8Array(TERMIOS_SIZE);
  const r = attempt("ioctl", fd, TCGETS, t);
  return r.ret < 0n ? undefined : t;
}

/** Applies settings read by getTermios (TCSETS: at once). */
export function setTermios(fd: number, termios: Uint8Array): void {
  check("ioctl", `TCSETS fd ${fd}`, fd, TCSETS, termios);
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

/**
 * ppoll(2) of several descriptors for up to `timeoutMs`; fills in `revents` and returns how
 * many are ready (0 on timeout or when interrupted by a signal).
 */
export function pollFds(fds: PollFd[], timeoutMs: number): number {
  const r = ppoll(fds, msToNs(timeoutMs));
  if (r.errno !== 0 && r.errno !== Errno.EINTR) throw new SyscallError("ppoll", "fds", r.errno);
  return r.ready;
}
