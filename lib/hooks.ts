/**
 * OCI hooks: each runs with exactly its own `env`, its `args`, the container state JSON on
 * stdin and an optional timeout. The caller decides where it runs: the runtime's namespaces
 * (prestart, createRuntime, poststart, poststop: the denki command) or the container's
 * (createContainer, startContainer: the container init).
 */
import { DenkiError } from "./errors.ts";
import type { Hook } from "./spec/config.ts";
import type { ContainerStatus } from "./state/status.ts";

/** The state a hook reads on stdin. */
export interface HookState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/** KEY=value strings to an environment object (later entries win). */
export function envObject(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const i = e.indexOf("=");
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

function tail(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes).trim();
  const last = text.split("\n").slice(-3).join(" | ");
  return last.length > 300 ? `...${last.slice(-300)}` : last;
}

const running = new Set<number>();

/** Pids of hooks running now: Deno reaps them itself, so a subreaper must leave them alone. */
export function hookPids(): Iterable<number> {
  return running;
}

/** Runs one hook; throws a DenkiError naming the hook kind, path and what went wrong. */
export async function runHook(kind: string, hook: Hook, state: HookState): Promise<void> {
  const what = `${kind} hook ${hook.path}`;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(hook.path, {
      // The runtime-spec's args include argv[0]; Deno sets argv[0] to the path itself.
      args: (hook.args ?? []).slice(1),
      clearEnv: true,
      env: envObject(hook.env ?? []),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new DenkiError(`${what}: cannot start: ${(err as Error).message}`);
  }
  running.add(child.pid);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  if (hook.timeout !== undefined) {
    // Armed before writing stdin: a hook that never reads a large state must still time out.
    timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, hook.timeout * 1000);
  }
  try {
    const writer = child.stdin.getWriter();
    // A hook that does not read its stdin must not make us fail.
    await writer.write(new TextEncoder().encode(JSON.stringify(state))).catch(() => {});
    await writer.close().catch(() => {});
    const out = await child.output();
    if (timedOut) throw new DenkiError(`${what}: timed out after ${hook.timeout}s`);
    if (!out.success) {
      const why = out.signal ? `killed by ${out.signal}` : `exit status ${out.code}`;
      const said = tail(out.stderr) || tail(out.stdout);
      throw new DenkiError(`${what} failed: ${why}${said ? `: ${said}` : ""}`);
    }
  } finally {
    running.delete(child.pid);
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * Runs a list of hooks whose failures are only warnings (poststart, poststop): each failure
 * goes to `warn` and the remaining hooks still run, as the runtime-spec's lifecycle asks.
 */
export async function runHooksWarning(
  kind: string,
  hooks: readonly Hook[] | undefined,
  state: HookState,
  warn: (message: string) => void,
): Promise<void> {
  for (const hook of hooks ?? []) {
    try {
      await runHook(kind, hook, state);
    } catch (err) {
      warn((err as Error).message);
    }
  }
}

/** Runs a list of hooks in order; the first failure stops the list. */
export async function runHooks(
  kind: string,
  hooks: readonly Hook[] | undefined,
  state: HookState,
): Promise<void> {
  for (const hook of hooks ?? []) await runHook(kind, hook, state);
}
