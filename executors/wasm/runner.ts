/**
 * Runs a guest in its Worker and turns how it ended into this process's exit: the exit status
 * of proc_exit or `_start`, 134 after a trap (with the trap on stderr), 128+N when signal N
 * arrives (the guest is stopped; the init stays responsive because the guest is not on its
 * thread).
 */
import { type BrokerRequest, serveBroker } from "./broker.ts";
import type { GuestJob, GuestResult } from "./worker.ts";

/** Exit status after a trap (as an abort: 128 + SIGABRT). */
export const TRAP_STATUS = 134;

/** Signals that stop the guest and end the container. */
const FATAL: [Deno.Signal, number][] = [
  ["SIGTERM", 15],
  ["SIGINT", 2],
  ["SIGHUP", 1],
  ["SIGQUIT", 3],
  ["SIGUSR1", 10],
  ["SIGUSR2", 12],
];

/** Runs `job` in a Worker with `permissions`; exits the process when the guest ends. */
export async function runInWorker(
  source: string,
  job: GuestJob,
  permissions: Deno.PermissionOptionsObject,
): Promise<never> {
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module", deno: { permissions } } as WorkerOptions);
  for (const [name, n] of FATAL) {
    Deno.addSignalListener(name, () => {
      worker.terminate();
      Deno.exit(128 + n);
    });
  }
  const result = await new Promise<GuestResult>((resolve) => {
    const writable = job.mounts.filter((m) => !m.readonly);
    worker.onmessage = (e: MessageEvent<GuestResult | BrokerRequest>) => {
      if (e.data.type === "broker") {
        if (job.broker) serveBroker(job.broker, writable, e.data);
      } else {
        resolve(e.data);
      }
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      resolve({ type: "error", message: e.message });
    };
    worker.postMessage(job);
  });
  worker.terminate();
  const enc = new TextEncoder();
  switch (result.type) {
    case "exit":
      Deno.exit(result.code & 0xff);
      break;
    case "trap":
      Deno.stderr.writeSync(enc.encode(`denki: wasm trap: ${result.message}\n`));
      Deno.exit(TRAP_STATUS);
      break;
    default:
      Deno.stderr.writeSync(enc.encode(`denki: wasm: ${result.message}\n`));
      Deno.exit(1);
  }
  throw new Error("unreachable");
}
