/**
 * Runs a guest in its Worker and turns how it ended into this process's exit: the exit status
 * of proc_exit or `_start`, 134 after a trap (with the trap on stderr), 128+N when signal N
 * arrives (the guest is stopped; the init stays responsive because the guest is not on its
 * thread).
 */
import { DenkiError } from "../../lib/errors.ts";
import { type BrokerRequest, serveBroker } from "./broker.ts";
import type { Mount } from "./wasi/vfs.ts";
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

/** Deno permissions for a guest Worker: none but file access, limited to `mounts` when sandboxed. */
export function guestPermissions(
  mounts: readonly Mount[],
  sandbox: boolean,
): Deno.PermissionOptionsObject {
  const none = { env: false, net: false, run: false, sys: false, import: false } as const;
  return sandbox
    ? {
      ...none,
      read: mounts.map((m) => m.host),
      write: mounts.filter((m) => !m.readonly).map((m) => m.host),
      ffi: false,
    }
    : { ...none, read: true, write: true, ffi: true };
}

/**
 * Runs `job` in a Worker with `permissions`; exits the process when the guest ends. The signals
 * that end a guest are handled from before `beforeStart` runs (the init's last steps: the
 * filter goes on, `start` is told), so none sent once the container counts as running is lost;
 * the Worker starts after it, under the filter.
 */
export async function runInWorker(
  source: string,
  job: GuestJob,
  permissions: Deno.PermissionOptionsObject,
  beforeStart: () => void = () => {},
): Promise<never> {
  const running: { worker?: Worker } = {};
  for (const [name, n] of FATAL) {
    Deno.addSignalListener(name, () => {
      running.worker?.terminate();
      Deno.exit(128 + n);
    });
  }
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  beforeStart();
  let started: Worker;
  try {
    started = new Worker(url, { type: "module", deno: { permissions } } as WorkerOptions);
  } catch (err) {
    // Under the container's seccomp filter: a profile without clone3 stops it here.
    throw new DenkiError(`cannot start the Wasm guest's worker thread: ${(err as Error).message}`);
  }
  running.worker = started;
  const result = await new Promise<GuestResult>((resolve) => {
    const writable = job.mounts.filter((m) => !m.readonly);
    started.onmessage = (e: MessageEvent<GuestResult | BrokerRequest>) => {
      if (e.data.type === "broker") {
        if (job.broker) serveBroker(job.broker, writable, e.data);
      } else {
        resolve(e.data);
      }
    };
    started.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      resolve({ type: "error", message: e.message });
    };
    started.postMessage(job);
  });
  started.terminate();
  exitWith(result);
}

/** Ends this process the way the guest ended (see the module comment for the statuses). */
export function exitWith(result: GuestResult): never {
  const enc = new TextEncoder();
  if (result.type === "exit") Deno.exit(result.code & 0xff);
  const what = result.type === "trap" ? "wasm trap" : "wasm";
  Deno.stderr.writeSync(enc.encode(`denki: ${what}: ${result.message}\n`));
  Deno.exit(result.type === "trap" ? TRAP_STATUS : 1);
}
