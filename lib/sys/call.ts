/**
 * How lib/sys makes a system call: through `attempt`, which retries a call a signal interrupted
 * (EINTR) — the one retry loop in denki — and `check`, which also turns a failure into a
 * SyscallError naming the call and what it acted on. Calls that must not be retried (close,
 * ppoll with a timeout) use libc.ts's `syscall` directly.
 */
import { SyscallError } from "../errors.ts";
import { Errno } from "../plan/errno.ts";
import {
  syscall,
  type SyscallArg,
  type SyscallName,
  syscallNr,
  type SyscallResult,
} from "./libc.ts";

/** One system call, repeated while it fails with EINTR; its result or -1 and errno. */
export function attempt(name: SyscallName, ...args: SyscallArg[]): SyscallResult {
  for (;;) {
    const r = syscall(name, ...args);
    if (r.ret >= 0n || r.errno !== Errno.EINTR) return r;
  }
}

/** `attempt`, throwing a SyscallError about `what` when the call fails; returns the result. */
export function check(name: SyscallName, what: string, ...args: SyscallArg[]): number {
  const r = attempt(name, ...args);
  if (r.ret < 0n) throw new SyscallError(name, what, r.errno);
  return Number(r.ret);
}

/** `attempt` as a number or an errno: `{ n, errno }`, errno 0 on success. */
export function tryCall(name: SyscallName, ...args: SyscallArg[]): { n: number; errno: number } {
  const r = attempt(name, ...args);
  return r.ret < 0n ? { n: -1, errno: r.errno } : { n: Number(r.ret), errno: 0 };
}

/** close(2), never retried (the fd is gone even when it reports EINTR) and errors ignored. */
export function close(fd: number): void {
  syscall("close", fd);
}

/**
 * A system call by number, arguments already 64-bit values; the result or -errno, never
 * retried (the interpreter of stage scripts retries EINTR itself, as the stage does).
 */
export function callByNumber(nr: number, args: readonly bigint[]): bigint {
  const [a = 0n, b = 0n, c = 0n, d = 0n, e = 0n, f = 0n] = args;
  return syscallNr(nr, a, b, c, d, e, f);
}
