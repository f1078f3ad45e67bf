/** The loopback interface of a new network namespace, which the kernel creates down. */
import { DenkiError } from "../errors.ts";
import { interfaceUp } from "../sys/net.ts";

/** Brings `lo` up, as runc does for every network namespace it makes. */
export function bringLoopbackUp(): void {
  try {
    interfaceUp("lo");
  } catch (err) {
    throw new DenkiError(`cannot bring lo up: ${(err as Error).message}`);
  }
}
