/** Passing the caller's signals on to a foreground container process (`run`, `exec`). */
import { parseSignal } from "../plan/signals.ts";
import * as sc from "../sys/syscalls.ts";

/** The signals a foreground `run` or `exec` forwards, as runc does. */
export const FORWARDED: readonly Deno.Signal[] = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGTERM",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
  "SIGCONT",
];

/** Forwards `signals` to `pid` until the returned function is called. */
export function forwardSignals(pid: number, signals = FORWARDED): () => void {
  const removers = signals.map((name) => {
    const handler = () => sc.kill(pid, parseSignal(name)!);
    Deno.addSignalListener(name, handler);
    return () => Deno.removeSignalListener(name, handler);
  });
  return () => removers.forEach((remove) => remove());
}
