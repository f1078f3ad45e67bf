/**
 * Test prerequisites, in the spirit of runc's `requires`: a test that needs root, a program or
 * a kernel feature is skipped with the reason printed, never silently.
 */
import { hasProgram } from "./packages.ts";

/** True when running as root. */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/** One prerequisite: met, or the reason it is not. */
export type Requirement = string | undefined;

/** Requirement: the program must be installed. */
export function program(name: string): Requirement {
  return hasProgram(name) ? undefined : `${name} is not installed`;
}

/** Requirement: root. */
export function root(): Requirement {
  return isRoot() ? undefined : "needs root";
}

/**
 * Registers a test that runs only when every requirement is met; otherwise it is reported as
 * ignored with the reasons in its name, e.g. `runc list [skipped: runc is not installed]`.
 */
export function testWith(
  name: string,
  reqs: Requirement[],
  fn: (t: Deno.TestContext) => void | Promise<void>,
): void {
  const missing = reqs.filter((r): r is string => r !== undefined);
  Deno.test({
    name: missing.length > 0 ? `${name} [skipped: ${missing.join(", ")}]` : name,
    ignore: missing.length > 0,
    fn,
  });
}
