/**
 * denki's executors, as the entry point registers them. Each is loaded only when a command
 * needs it (create, run and the init), so this module imports no executor's code: the other
 * commands, which run no workload, never read the Wasm host.
 */
import type { ExecutorRegistry } from "../lib/executor_registry.ts";
import { WASM_ANNOTATIONS } from "./wasm/annotations.ts";

/** Registers the executors in the order `create` asks them: Linux last, it runs any program. */
export function registerExecutors(registry: ExecutorRegistry): void {
  registry.register({
    name: "wasm",
    annotations: Object.keys(WASM_ANNOTATIONS),
    load: async () => (await import("./wasm/executor.ts")).wasmExecutor,
  });
  registry.register({
    name: "linux",
    load: async () => (await import("./linux.ts")).linuxExecutor,
  });
}
