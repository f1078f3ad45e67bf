/**
 * The Executor interface: how a container's workload is run once the init has prepared the
 * container. The Linux executor (an ELF via execve) and the Wasm executor (a WASI module run by
 * denki's own host) implement it; `main.ts` hands the list to the lifecycle, `lib/` never
 * imports this folder.
 *
 * The environment is explicit input: `handleEnvs` decides what reaches the workload, built
 * from `process.env` of config.json alone, never from the environment denki was started with.
 */
import type { Spec } from "../lib/spec/config.ts";

/** Runs one kind of workload. */
export interface Executor {
  /** Short name for logs and errors ("linux", "wasm"). */
  readonly name: string;
  /** True when this executor runs the workload; false lets the next executor try. */
  canHandle(spec: Spec, rootfs: string): boolean;
  /**
   * Checks the workload once the root is prepared, before waiting for `start`: an executor
   * that can handle a spec but finds the workload invalid throws a DenkiError here.
   */
  validate(spec: Spec, rootfs: string): void;
  /** The workload's environment as KEY=value strings, from the spec only. */
  handleEnvs(spec: Spec): string[];
}

/** The default environment policy: exactly `process.env`, in order, nothing added. */
export function specEnv(spec: Spec): string[] {
  return [...(spec.process?.env ?? [])];
}

/** The first executor that can handle the spec; undefined when none can. */
export function selectExecutor(
  executors: readonly Executor[],
  spec: Spec,
  rootfs: string,
): Executor | undefined {
  return executors.find((e) => e.canHandle(spec, rootfs));
}
