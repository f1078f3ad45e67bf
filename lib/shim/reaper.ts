/**
 * Exit statuses for the shim: one long-lived process that must learn when each container init
 * and exec process ends without ever blocking its event loop. Every watched process gets a
 * pidfd, which turns readable at its exit; the shim's one poller thread (sys/async_io.ts)
 * watches them, so the JS thread only hears about exits. As a child subreaper the
 * shim also inherits orphans of containers without a pid namespace; those are reaped here too,
 * except children someone else waits for (hooks run through Deno.Command, which reaps its own).
 */
import { POLLIN } from "../plan/abi.ts";
import * as sc from "../sys/syscalls.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import { closeFd, waitFd } from "../sys/async_io.ts";

const PR_SET_CHILD_SUBREAPER = 36;

/** How a process ended, and when (what Wait, State and TaskExit report). */
export interface Exit {
  /** The exit code, or 128 + the signal that killed it (as containerd's runc shim reports). */
  status: number;
  /** Wall-clock time of the reap, in nanoseconds since the epoch. */
  at: bigint;
}

/** Wall-clock time now, in nanoseconds since the epoch. */
export function nowNs(): bigint {
  const ns = sc.clockNs(0);
  return typeof ns === "bigint" ? ns : BigInt(Date.now()) * 1_000_000n;
}

/** Watches processes (children of this one) and reaps them as they exit. */
export class Reaper {
  readonly #watched = new Set<number>();
  /** Pids some other part of the process waits for itself (not reaped as orphans). */
  #others: () => Iterable<number>;
  /** True while no orphan may be reaped (a caller waits for a child of its own by pid). */
  #paused: () => boolean;

  /** Told each orphan's pid once it is reaped (a logging binary's, say). */
  #reaped: (pid: number) => void;

  constructor(
    others: () => Iterable<number> = () => [],
    paused: () => boolean = () => false,
    reaped: (pid: number) => void = () => {},
  ) {
    this.#others = others;
    this.#paused = paused;
    this.#reaped = reaped;
  }

  /** Makes this process the reaper of its descendants' orphans (PR_SET_CHILD_SUBREAPER). */
  static becomeSubreaper(): void {
    sc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, "PR_SET_CHILD_SUBREAPER");
  }

  /** Resolves with `pid`'s exit once it has been reaped; `pid` must be a child of this process. */
  async watch(pid: number): Promise<Exit> {
    const pidfd = sc.pidfdOpen(pid);
    sc.setCloexec(pidfd, true);
    this.#watched.add(pid);
    try {
      for (;;) {
        let done: sc.ExitStatus | undefined;
        try {
          done = sc.reap(pidfd);
        } catch {
          // Reaped by someone else (ECHILD): its status is lost; report it as killed.
          done = { code: 137, signal: 9 };
        }
        if (done !== undefined) {
          const exit = { status: done.code, at: nowNs() };
          this.reapOrphans();
          return exit;
        }
        // The pidfd turns readable when the process exits.
        await waitFd(pidfd, POLLIN);
      }
    } finally {
      this.#watched.delete(pid);
      closeFd(pidfd);
    }
  }

  /** Pids being watched. */
  pids(): number[] {
    return [...this.#watched];
  }

  /**
   * Reaps exited children nobody watches: orphans re-parented to this subreaper. Children in
   * `others` (waited for elsewhere) and watched ones are left alone.
   */
  reapOrphans(): void {
    if (this.#paused()) return;
    const keep = new Set([...this.pids(), ...this.#others()]);
    for (const pid of childPids()) {
      if (keep.has(pid)) continue;
      const stat = readTextRaw(`/proc/${pid}/stat`);
      if (
        stat === undefined ||
        stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
      ) {
        continue;
      }
      try {
        const fd = sc.pidfdOpen(pid);
        try {
          if (sc.reap(fd) !== undefined) this.#reaped(pid);
        } finally {
          sc.close(fd);
        }
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** This process's children, from /proc/self/task/<tid>/children of every thread. */
function childPids(): number[] {
  const out: number[] = [];
  for (const tid of sc.listDir(`/proc/self/task`)) {
    const text = readTextRaw(`/proc/self/task/${tid}/children`) ?? "";
    for (const p of text.trim().split(/\s+/)) if (p !== "") out.push(Number(p));
  }
  return out;
}
