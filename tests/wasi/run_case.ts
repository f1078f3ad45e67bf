/**
 * Runs one WASI test module with denki's host, in this process (with raw system calls, like a
 * rootful container) or in a sandboxed Worker (like a rootless one), and exits with its status.
 * Usage: run_case.ts MODE MODULE CONFIG_JSON   (MODE: native | sandbox)
 */
import { runGuest } from "../../executors/wasm/worker.ts";
import { exitWith, guestPermissions, runInWorker } from "../../executors/wasm/runner.ts";
import { brokerChannel } from "../../executors/wasm/broker.ts";
import { workerSource } from "../../executors/wasm/worker_source.ts";
import type { Mount } from "../../executors/wasm/wasi/vfs.ts";

const [mode, module, configPath] = Deno.args;
const config = JSON.parse(Deno.readTextFileSync(configPath!)) as {
  args: string[];
  env: string[];
  mounts: Mount[];
  preopens: string[];
};
const bytes = Deno.readFileSync(module!);
const job = { module: new WebAssembly.Module(bytes), ...config, sockets: [] };
if (mode === "sandbox") {
  const sandboxed = { ...job, broker: brokerChannel() };
  await runInWorker(workerSource(), sandboxed, guestPermissions(config.mounts, true));
}
exitWith(runGuest(job));
