/**
 * The guest's thread: a Worker that receives the module and its WASI configuration, runs
 * `_start` with denki's WASI host and reports how it ended. Its Deno permissions are set by
 * the runner (in the rootless sandbox: exactly the preopened directories, nothing else).
 */
import { brokeredSymlink, type BrokerRequest } from "./broker.ts";
import { ExitSignal, type HostLimits, WasiHost } from "./wasi/host.ts";
import { tryNative } from "./wasi/native.ts";
import type { Mount } from "./wasi/vfs.ts";
import { bridgedStdio, type StdioRequest } from "./stdio_bridge.ts";

/** What the runner sends. */
export interface GuestJob {
  module: WebAssembly.Module | ArrayBuffer;
  args: string[];
  env: string[];
  mounts: Mount[];
  preopens: string[];
  sockets: number[];
  /** The sandbox's broker channel (see broker.ts); absent when the guest may do everything. */
  broker?: SharedArrayBuffer;
  /** The rlimits the WASI host enforces itself. */
  limits?: HostLimits;
  /** A guest run in the shim: its stdio goes through the parent (see stdio_bridge.ts). */
  stdio?: SharedArrayBuffer;
}

/** What the worker answers. */
export type GuestResult = { type: "exit"; code: number } | { type: "trap"; message: string } | {
  type: "error";
  message: string;
};

/** Runs a guest to completion; `post` reaches the parent (for the broker). */
export function runGuest(
  job: GuestJob,
  post?: (req: BrokerRequest | StdioRequest) => void,
): GuestResult {
  try {
    const native = tryNative();
    const symlink = job.broker && post ? brokeredSymlink(job.broker, post) : undefined;
    const stdio = job.stdio && post ? bridgedStdio(job.stdio, post) : undefined;
    const host = new WasiHost({ ...job, native, symlink, stdio });
    const module = job.module instanceof WebAssembly.Module
      ? job.module
      : new WebAssembly.Module(job.module);
    const instance = new WebAssembly.Instance(module, host.imports());
    return { type: "exit", code: host.start(instance) };
  } catch (err) {
    if (err instanceof ExitSignal) return { type: "exit", code: err.code };
    if (err instanceof WebAssembly.RuntimeError) return { type: "trap", message: err.message };
    return { type: "error", message: err instanceof Error ? err.message : String(err) };
  }
}

// In a Worker: take one job, answer once.
const scope = globalThis as unknown as {
  WorkerGlobalScope?: unknown;
  onmessage: (e: MessageEvent<GuestJob>) => void;
  postMessage(message: GuestResult | BrokerRequest | StdioRequest): void;
};
if (scope.WorkerGlobalScope !== undefined) {
  scope.onmessage = (e) => scope.postMessage(runGuest(e.data, (req) => scope.postMessage(req)));
}
