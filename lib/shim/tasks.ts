/**
 * What the shim keeps of each task beyond denki's state directory: its processes (the init and
 * the execs containerd announced), their stdio and exits; and the small pieces the Task service
 * builds its answers from.
 */
import {
  ContainerExists,
  ContainerNotFound,
  DenkiError,
  InvalidState,
  SpecError,
} from "../errors.ts";
import type { HostedRun } from "../executor.ts";
import type { ExecutorRegistry } from "../executor_registry.ts";
import type { Logger } from "../log.ts";
import type { Process } from "../spec/config.ts";
import * as m from "./proto/messages.ts";
import { encode, type MessageInit } from "./proto/wire.ts";
import { Code, TtrpcError } from "./ttrpc.ts";
import type { Publisher } from "./events.ts";
import type { Exit, Reaper } from "./reaper.ts";
import type { ProcessStdio } from "./stdio.ts";
import { DELETED_MARK } from "./names.ts";

/** One process of a task: its init ("" exec id) or an exec. */
export interface Proc {
  execId: string;
  pid: number;
  io: { stdin: string; stdout: string; stderr: string; terminal: boolean };
  stdio: ProcessStdio | undefined;
  /** An exec's process spec, until it starts. */
  spec?: Process;
  started: boolean;
  exit: Exit | undefined;
  /** Resolves once the exit is recorded and its output drained. */
  exited: Promise<Exit>;
  settle: (exit: Exit) => void;
}

export interface Task {
  id: string;
  bundle: string;
  rootfs: string | undefined;
  /** A workload run in the shim itself (hosted.ts): no init, no denki state. */
  hosted?: HostedRun;
  init: Proc;
  execs: Map<string, Proc>;
}

/** What the service needs from the daemon around it. */
export interface ServiceDeps {
  namespace: string;
  /** denki's state root for this namespace. */
  root: string;
  executors: ExecutorRegistry;
  publisher: Publisher;
  reaper: Reaper;
  log: Logger;
  /** Called after Shutdown was answered, when the shim should exit. */
  shutdown: () => void;
}

export const EXEC_SPEC_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process";

export function newProc(execId: string, io: Proc["io"]): Proc {
  let settle!: (exit: Exit) => void;
  const exited = new Promise<Exit>((r) => (settle = r));
  return { execId, pid: 0, io, stdio: undefined, started: false, exit: undefined, exited, settle };
}

export function timestamp(ns: bigint | undefined): m.Timestamp | undefined {
  if (ns === undefined) return undefined;
  return { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) };
}

/** Maps denki's errors onto the status codes containerd's errdefs understands. */
export function statusOf(err: unknown): TtrpcError {
  if (err instanceof TtrpcError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof ContainerNotFound) return new TtrpcError(Code.NOT_FOUND, msg);
  if (err instanceof ContainerExists) return new TtrpcError(Code.ALREADY_EXISTS, msg);
  if (err instanceof InvalidState) return new TtrpcError(Code.FAILED_PRECONDITION, msg);
  if (err instanceof SpecError) return new TtrpcError(Code.INVALID_ARGUMENT, msg);
  if (err instanceof DenkiError) return new TtrpcError(Code.UNKNOWN, msg);
  return new TtrpcError(Code.INTERNAL, `internal error: ${msg}`);
}

/**
 * containerd runs `<shim> delete` once the daemon is gone, even after a clean Delete; the
 * launcher answers it from this file without starting Deno (bin/containerd-shim-denki-v2).
 * The bundle is containerd's own directory, removed right after.
 */
export function leaveAnswer(bundle: string, out: MessageInit<m.DeleteResponse>): void {
  try {
    // A new file only: never through a link someone put there.
    Deno.writeFileSync(`${bundle}/${DELETED_MARK}`, encode(m.DeleteResponse, out), {
      mode: 0o600,
      createNew: true,
    });
  } catch {
    // the delete action then does the (already done) work itself
  }
}
