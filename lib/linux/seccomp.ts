/**
 * Installing a compiled seccomp filter (lib/plan/seccomp) on the calling thread, and handing
 * a notify listener fd to the process at `linux.seccomp.listenerPath`.
 *
 * No SECCOMP_FILTER_FLAG_TSYNC: the filter goes on the init's JS thread, which later execs
 * the workload (execve keeps the calling thread's filters and ends the others), so Deno's
 * other threads and the runtime's own setup stay unfiltered.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import type { Spec } from "../spec/config.ts";
import type { RuntimeEnd } from "../sync.ts";
import type { HookState } from "../hooks.ts";
import type { CompiledSeccomp } from "../plan/seccomp/compile.ts";
import { Errno } from "../plan/errno.ts";
import * as sc from "../sys/syscalls.ts";
import { connectUnix, sendWithFds } from "../sys/unix.ts";

/**
 * Installs the filter on this thread; returns the listener fd when the filter has
 * SECCOMP_FILTER_FLAG_NEW_LISTENER. Without no_new_privs the kernel requires CAP_SYS_ADMIN.
 */
export function installSeccomp(compiled: CompiledSeccomp): number | undefined {
  const r = sc.seccompSetFilter(compiled.program, compiled.flags);
  if (r.errno !== 0) {
    const why = r.errno === Errno.EACCES
      ? "install filter (needs process.noNewPrivileges or CAP_SYS_ADMIN)"
      : `install filter with flags 0x${compiled.flags.toString(16)}`;
    throw new SyscallError("seccomp", why, r.errno);
  }
  return compiled.notify ? r.n : undefined;
}

/** The runtime-spec's containerProcessState, sent to a seccomp agent with the notify fd. */
export function containerProcessState(state: HookState, metadata: string | undefined): string {
  return JSON.stringify({
    ociVersion: state.ociVersion,
    fds: ["seccompFd"],
    pid: state.pid,
    ...(metadata ? { metadata } : {}),
    state,
  });
}

/** Connects to the agent at `listenerPath` and sends it the notify fd and the state. */
export function sendNotifyFd(
  listenerPath: string,
  fd: number,
  state: HookState,
  metadata?: string,
): void {
  const sock = connectUnix(listenerPath);
  try {
    sendWithFds(sock, new TextEncoder().encode(containerProcessState(state, metadata)), [fd]);
  } finally {
    sc.close(sock);
  }
}

/**
 * Passes the notify fd a process sent over `channel` on to the agent at the profile's
 * listenerPath (create and exec do this: the process itself cannot reach the host's path).
 */
export function forwardNotifyFd(
  channel: RuntimeEnd,
  seccomp: NonNullable<NonNullable<Spec["linux"]>["seccomp"]>,
  state: HookState,
  who: string,
): void {
  const fds = channel.takeFds();
  try {
    if (fds.length !== 1) throw new DenkiError(`${who} sent no seccomp notify fd`);
    try {
      sendNotifyFd(seccomp.listenerPath!, fds[0]!, state, seccomp.listenerMetadata);
    } catch (err) {
      throw new DenkiError(`linux.seccomp.listenerPath: ${(err as Error).message}`);
    }
  } finally {
    for (const fd of fds) sc.close(fd);
  }
}
