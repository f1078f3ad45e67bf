/**
 * Which route a container takes under the shim: an executor that confines its workload by
 * itself (Wasm) may run it inside the shim (Executor.hosted: no init process, no Deno
 * start-up); everything else, and configs that need what only an init gives (hooks, a
 * terminal, a cgroup's limits), takes the init route through createContainer.
 */
import { selectExecutor } from "../executor.ts";
import type { HostedRun } from "../executor.ts";
import type { ExecutorRegistry } from "../executor_registry.ts";
import type { Logger } from "../log.ts";
import type { Spec } from "../spec/config.ts";
import { parseSpec } from "../spec/parse.ts";
import { resolve } from "../paths.ts";
import { checkContainerId } from "../state/container_id.ts";
import { ROUTE_ANNOTATION } from "./names.ts";

/** Why `spec` cannot run in the shim whatever its executor, or undefined. */
export function shimBlocker(spec: Spec): string | undefined {
  if (spec.annotations?.[ROUTE_ANNOTATION] === "init") return `${ROUTE_ANNOTATION}=init`;
  const hooks = Object.values(spec.hooks ?? {}).some((list) => (list ?? []).length > 0);
  if (hooks) return "hooks (they run in the container's namespaces)";
  return undefined;
}

/** The workload run in the shim, or undefined when the container takes the init route. */
export async function hostedRoute(
  id: string,
  bundle: string,
  stdio: readonly [number, number, number],
  executors: ExecutorRegistry,
  log: Logger,
): Promise<HostedRun | undefined> {
  checkContainerId(id);
  const file = `${bundle}/config.json`;
  const spec = parseSpec(Deno.readTextFileSync(file), file);
  if (spec.root === undefined) return undefined;
  const rootfs = resolve(bundle, spec.root.path);
  const executor = selectExecutor(await executors.all(), spec, rootfs);
  if (executor?.hosted === undefined || spec.process === undefined) return undefined;
  const blocker = shimBlocker(spec);
  const run = blocker ?? await executor.hosted(spec, { rootfs, bundle, stdio });
  if (typeof run === "string") {
    log.debug(`container "${id}": ${executor.name} workload takes the init route: ${run}`);
    return undefined;
  }
  log.debug(`container "${id}": ${executor.name} workload runs in the shim`);
  return run;
}
