/**
 * The Linux executor: the workload is a program in the container's root, started with
 * execve(2) from the init's JS thread, with exactly `process.env` as its environment.
 */
import { DenkiError } from "../lib/errors.ts";
import type { Spec } from "../lib/spec/config.ts";
import * as sc from "../lib/sys/syscalls.ts";
import { type ExecContext, type Executor, specEnv } from "./executor.ts";

/** The search path when process.env has no PATH (what runc's Go lookup falls back to). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The PATH value of an environment list, or the default. */
export function pathOf(env: readonly string[]): string {
  for (let i = env.length - 1; i >= 0; i--) {
    if (env[i]!.startsWith("PATH=")) return env[i]!.slice(5);
  }
  return DEFAULT_PATH;
}

function isExecutableFile(path: string): boolean {
  const mode = sc.statMode(sc.AT_FDCWD, path, 0);
  return mode !== undefined && (mode & sc.S_IFMT) === sc.S_IFREG && (mode & 0o111) !== 0;
}

/**
 * Finds args[0] as execvp would, in the current root: a name with a slash is used as is,
 * others are searched in PATH. Messages match runc's, which podman classifies (127).
 */
export function lookPath(name: string, env: readonly string[]): string {
  if (name.includes("/")) {
    const mode = sc.statMode(sc.AT_FDCWD, name, 0);
    if (mode === undefined) {
      throw new DenkiError(`exec: "${name}": stat ${name}: no such file or directory`);
    }
    if (!isExecutableFile(name)) throw new DenkiError(`exec: "${name}": permission denied`);
    return name;
  }
  for (const dir of pathOf(env).split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${name}`;
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new DenkiError(`exec: "${name}": executable file not found in $PATH`);
}

const SIGKILL = 9;
const SIGSTOP = 19;

/** The Linux executor. */
export const linuxExecutor: Executor = {
  name: "linux",
  canHandle: () => true,
  validate(spec) {
    // The root is "/" here: the init has switched to the container's.
    lookPath(spec.process!.args![0]!, specEnv(spec));
  },
  handleEnvs: specEnv,
  exec(spec: Spec, env: string[], ctx: ExecContext): Promise<never> {
    const args = spec.process!.args!;
    const path = lookPath(args[0]!, env);
    // Deno ignores SIGPIPE and may block signals; an ignored signal stays ignored across
    // execve, so every disposition goes back to the default and the mask is cleared.
    for (let sig = 1; sig <= 64; sig++) {
      if (sig !== SIGKILL && sig !== SIGSTOP) sc.signalDefault(sig);
    }
    sc.unblockAllSignals();
    // Deno holds descriptors without close-on-exec; only stdio and preserved fds may pass.
    sc.cloexecRange(3 + ctx.preserveFds);
    sc.execve(path, args, env);
  },
};
