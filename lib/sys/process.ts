/**
 * Child processes: starting a program with posix_spawn (argv and envp built here), and
 * waiting for one through a pidfd without blocking the event loop for long.
 */
import { SyscallError } from "../errors.ts";
import { cString, posixSpawn } from "./libc.ts";
import { attempt, check, close } from "./call.ts";
import { POLLIN } from "../plan/abi.ts";
import { pollOne } from "./poll.ts";

/** Builds a NULL-terminated array of C string pointers (argv/envp), keeping the strings alive. */
export function cArray(items: readonly string[]): { ptrs: Uint8Array; keep: Uint8Array[] } {
  const keep = items.map(cString);
  const ptrs = new BigUint64Array(items.length + 1);
  keep.forEach((b, i) => {
    ptrs[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
  });
  return { ptrs: new Uint8Array(ptrs.buffer), keep };
}

/** Starts a program (argv[0] included in `argv`) with `envp`; stdio and non-CLOEXEC fds pass. */
export function spawn(path: string, argv: readonly string[], envp: readonly string[]): number {
  const a = cArray(argv);
  const e = cArray(envp);
  const r = posixSpawn(cString(path), a.ptrs, e.ptrs);
  void a.keep;
  void e.keep;
  if (r.error !== 0) throw new SyscallError("posix_spawn", path, r.error);
  return r.pid;
}

/** How a child ended: its exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number;
  signal: number | null;
}

const P_PIDFD = 3;
const WEXITED = 4;
const WNOHANG = 1;
const CLD_EXITED = 1;

/** pidfd_open(2): an fd that becomes readable when the process exits. */
export function pidfdOpen(pid: number): number {
  return check("pidfd_open", `pid ${pid}`, pid, 0);
}

/** Reaps a child through its pidfd; undefined while it is still running. */
export function reap(pidfd: number): ExitStatus | undefined {
  const info = new Uint8Array(128);
  const r = attempt("waitid", P_PIDFD, pidfd, info, WEXITED | WNOHANG, 0);
  if (r.ret < 0n) throw new SyscallError("waitid", `pidfd ${pidfd}`, r.errno);
  const view = new DataView(info.buffer);
  if (view.getInt32(16, true) === 0) return undefined; // si_pid 0: not exited yet
  const code = view.getInt32(8, true);
  const status = view.getInt32(24, true);
  return code === CLD_EXITED
    ? { code: status, signal: null }
    : { code: 128 + status, signal: status };
}

/** Waits for a child to exit without blocking the event loop for long (signals still run). */
export async function waitChild(pid: number): Promise<ExitStatus> {
  const fd = pidfdOpen(pid);
  try {
    for (;;) {
      const done = reap(fd);
      if (done !== undefined) return done;
      if (pollOne(fd, POLLIN, 50) === 0) await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    close(fd);
  }
}
