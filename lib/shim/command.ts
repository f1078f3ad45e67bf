/**
 * How the shim starts its daemons (a group's, a spare): denki run again, with V8's eager
 * compilation as the CLI has it (a pod's first Create then runs compiled code: about 0.3x
 * runc's `ctr run` faster here) but without the CLI's large young generation, which a
 * long-lived daemon would keep as resident memory. A compiled binary has its flags built in
 * and is run as it is.
 */
import { selfCommand } from "../self.ts";
import { SHIM_FLAG } from "./names.ts";

/** The argv that runs the shim with `args`. */
export function shimCommand(args: readonly string[]): string[] {
  return selfCommand([SHIM_FLAG, ...args]).map((a) =>
    a.startsWith("--v8-flags=") ? "--v8-flags=--no-lazy" : a
  );
}
