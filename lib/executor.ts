/**
 * The Executor interface: how a container's workload is run once the init has prepared the
 * container. The Linux executor (an ELF via execve) and the Wasm executor (a WASI module run
 * by denki's own host) live in `executors/` and implement it; `main.ts` registers them
 * (`executors/mod.ts`) in an ExecutorRegistry (executor_registry.ts), and nothing in `lib/`
 * imports from `executors/` (tests/repo_test.ts checks this). The lifecycle decides by an
 * executor's properties (`inProcess`, `ownSandbox`), never by its name.
 *
 * The environment is explicit input: `handleEnvs` decides what reaches the workload, built
 * from `process.env` of config.json alone, never from the environment denki was started with.
 */
import type { Spec } from "./spec/config.ts";
import type { CredentialPlan, RlimitPlan, SeccompPlan } from "./spawn/steps.ts";

/**
 * What is still to be applied when the executor takes over: the init has done everything
 * Deno can do safely. An executor that execs a program hands this to the native stage (which
 * applies it after Deno is gone); one that runs its workload in this process calls `lockDown`.
 */
export interface FinalSteps {
  /** process.rlimits (RLIMIT_AS and kin would break Deno itself). */
  rlimits: readonly RlimitPlan[];
  /** The container's filter when it is not on yet. */
  seccomp?: SeccompPlan | undefined;
  /** The credentials the init applied, and what it kept for the filter (CAP_SYS_ADMIN). */
  creds: CredentialPlan;
  retain: bigint;
  /** Installs the filter on this thread and drops what was kept for it (in-process runs). */
  lockDown(): void;
}

/** What `exec` needs besides the spec. */
export interface ExecContext {
  /** File descriptors 3 .. 3+preserveFds-1 stay open for the workload; all others close. */
  preserveFds: number;
  /** The container root as this process sees it: "/" after the root switch, else the rootfs. */
  root: string;
  /** True in the rootless sandbox: no namespaces, no root switch (`ownSandbox` executors). */
  sandbox: boolean;
  /** The bundle directory (bind mount sources are relative to it). */
  bundle: string;
  /**
   * The exec fifo `start` reads. It stays open until the workload runs (close-on-exec, or
   * closed by an in-process executor right before the guest starts), so a failure on the way
   * is written there too and `start` reports it.
   */
  startFd?: number | undefined;
  /** Tells `start` the workload is about to run ("0" on the fifo): call it once, last. */
  release(): void;
  /** What is left to apply (undefined in the rootless sandbox, which changes nothing). */
  final?: FinalSteps | undefined;
}

/**
 * A workload run inside a long-lived caller (the containerd shim) with no init process: the
 * executor confines it by itself (`ownSandbox`). Its stdio is the caller's fds.
 */
export interface HostedRun {
  /** Lets the workload begin (the container's Start). */
  start(): void;
  /** Ends it as `signal` would: its status becomes 128 + signal. Nothing once it ended. */
  kill(signal: number): void;
  /** Its exit status, once it has ended and its output is written. */
  readonly exited: Promise<number>;
}

/** What a hosted workload gets besides the spec. */
export interface HostedContext {
  /** The container root on the host, and the bundle (bind sources are relative to it). */
  rootfs: string;
  bundle: string;
  /** The workload's stdin, stdout and stderr (the caller keeps them open until it ends). */
  stdio: readonly [number, number, number];
}

/** Runs one kind of workload. */
export interface Executor {
  /** Short name for logs and errors ("linux", "wasm"). */
  readonly name: string;
  /**
   * True when the workload runs inside the init's own process (the Wasm host) instead of
   * replacing it with execve: the init's Deno then lives as long as the container.
   */
  readonly inProcess?: boolean;
  /**
   * True when the executor confines the workload by itself (the Wasm host: WASI in a Worker
   * with exactly the container's directories as Deno permissions), so it can run without root
   * and without namespaces. `create` runs such a workload in that sandbox when the caller is
   * not root or the config asks for no namespaces; any other executor needs both.
   */
  readonly ownSandbox?: boolean;
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
  /**
   * Prepares the workload to run inside the caller's own process (the shim), or says why this
   * config needs an init (a string). Only `ownSandbox` executors offer it. Throws a DenkiError
   * for an invalid workload, as `validate` does.
   */
  hosted?(spec: Spec, ctx: HostedContext): Promise<HostedRun | string>;
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
