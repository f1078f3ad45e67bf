/**
 * denki's WASI host without the container around it, for the benchmark. Usage:
 * host_denki.ts [--worker] MODULE ROOT [ARGS...]: ROOT is preopened as /; --worker runs the
 * guest in the sandbox Worker (as a rootless container does) instead of in this thread.
 */
import { exitWith, guestPermissions, runInWorker } from "../../../executors/wasm/runner.ts";
import { type GuestJob, runGuest } from "../../../executors/wasm/worker.ts";

const worker = Deno.args[0] === "--worker";
const [module, root, ...args] = Deno.args.slice(worker ? 1 : 0);
const job: GuestJob = {
  module: new WebAssembly.Module(Deno.readFileSync(module!)),
  args: [module!, ...args],
  env: ["BENCH=1"],
  mounts: [{ guest: "/", host: root!, readonly: false }],
  preopens: ["/"],
  sockets: [],
};
if (worker) {
  const source = Deno.readTextFileSync(Deno.env.get("DENKI_WASM_WORKER")!);
  await runInWorker(source, job, guestPermissions(job.mounts, true));
}
exitWith(runGuest(job));
