/**
 * The Executor interface: how a container's workload is run once the init has prepared the
 * container. The Linux executor (an ELF via execve) and the Wasm executor (a WASI module run
 * by denki's own host) implement it; `main.ts` hands the list to the lifecycle, and `lib/`
 * refers to this interface by type only.
 *
 * The environment is explicit input: `handleEnvs` decides what reaches the workload, built
 * from `process.env` of config.json alone, never from the environment denki was started with.
 */
import type { Spec } from "../lib/spec/config.ts";

/** What `exec` needs besides the spec. */
export interface ExecContext {
  /** File descriptors 3 .. 3+preserveFds-1 stay open for the workload; all others close. */
  preserveFds: number;
  /** The container root as this process sees it: "/" after the root switch, else the rootfs. */
  root: string;
  /** True in the rootless sandbox: no namespaces, no root switch (Wasm only). */
  sandbox: boolean;
  /** The bundle directory (bind mount sources are relative to it). */
  bundle: string;
}

/** Runs one kind of workload. */
export interface Executor {
  /** Short name for logs and errors ("linux", "wasm"). */
  readonly name: string;
  /**
   * True when this executor runs the workload; false lets the next one try. `rootfs` is the
   * host path at `create` and "/" inside the init once the root is switched.
   */
  canHandle(spec: Spec, rootfs: string): boolean;
  /**
   * Called in the init before the root switch, while denki's own files are reachable (the
   * Wasm executor reads its Worker's code here).
   */
  prepare?(spec: Spec): void;
  /**
   * Checks the workload inside the prepared container (`root` is "/" once switched, the
   * rootfs in the sandbox), before the init waits for `start`. Can handle but invalid (a
   * missing program, a bad module) throws a DenkiError, which fails `create`.
   */
  validate(spec: Spec, root: string): void;
  /** The workload's environment as KEY=value strings, from the spec only. */
  handleEnvs(spec: Spec): string[];
  /** Replaces the init with the workload (or runs it and exits with its status). */
  exec(spec: Spec, env: string[], ctx: ExecContext): Promise<never>;
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
