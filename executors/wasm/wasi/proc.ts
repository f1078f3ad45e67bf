/** proc_exit, proc_raise, sched_yield. */
import { E } from "./types.ts";

/** Thrown by proc_exit (and a fatal proc_raise) to unwind the guest with a status. */
export class ExitSignal {
  constructor(readonly code: number) {}
}

/**
 * WASI signal numbers to Linux ones and their default action. WASI numbers follow Linux up to
 * SIGTERM (15); from SIGCHLD on, WASI has no SIGSTKFLT, so they are one lower.
 */
const SIGNALS: readonly (readonly [number, "term" | "ignore" | "stop"])[] = [
  [0, "ignore"], // none (reserved)
  [1, "term"], // hup
  [2, "term"], // int
  [3, "term"], // quit
  [4, "term"], // ill
  [5, "term"], // trap
  [6, "term"], // abrt
  [7, "term"], // bus
  [8, "term"], // fpe
  [9, "term"], // kill
  [10, "term"], // usr1
  [11, "term"], // segv
  [12, "term"], // usr2
  [13, "ignore"], // pipe: the spec lists its action as "ignored"
  [14, "term"], // alrm
  [15, "term"], // term
  [17, "ignore"], // chld
  [18, "ignore"], // cont
  [19, "stop"], // stop
  [20, "stop"], // tstp
  [21, "stop"], // ttin
  [22, "stop"], // ttou
  [23, "ignore"], // urg
  [24, "term"], // xcpu
  [25, "term"], // xfsz
  [26, "term"], // vtalrm
  [27, "term"], // prof
  [28, "ignore"], // winch
  [29, "term"], // poll
  [30, "term"], // pwr
  [31, "term"], // sys
];

/** The process functions. */
export class Proc {
  proc_exit(code: number): never {
    throw new ExitSignal(code >>> 0);
  }

  /**
   * Raises a signal with its default action, as the spec describes: terminating signals end
   * the guest with 128+N (N the Linux number), ignored ones do nothing. Stopping is not
   * possible for a guest, so stop signals do nothing either.
   */
  proc_raise(sig: number): number {
    const entry = SIGNALS[sig];
    if (entry === undefined || sig === 0) return E.INVAL;
    if (entry[1] === "term") throw new ExitSignal(128 + entry[0]);
    return E.SUCCESS;
  }

  sched_yield(): number {
    return E.SUCCESS;
  }
}
