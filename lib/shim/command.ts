/**
 * How the shim starts its daemons (a group's, a spare): denki run again, without the V8 flags
 * the CLI takes for a short life (eager compilation and a large young generation cost a
 * long-lived daemon memory, and its guests' Workers start-up time). A compiled binary has its
 * flags built in and is run as it is.
 */
import { selfCommand } from "../self.ts";
import { SHIM_FLAG } from "./names.ts";

/** The argv that runs the shim with `args`. */
export function shimCommand(args: readonly string[]): string[] {
  return selfCommand([SHIM_FLAG, ...args]).filter((a) => !a.startsWith("--v8-flags="));
}
