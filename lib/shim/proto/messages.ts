/**
 * The messages the containerd shim speaks, as schemas for wire.ts. Field numbers follow
 * containerd v1.6.20: runtime/v2/task/shim.proto (package containerd.task.v2),
 * api/types/mount.proto, api/types/task/task.proto, api/events/task.proto,
 * api/services/ttrpc/events/v1/events.proto, ttrpc's request.go/types.go and google.rpc.Status.
 * TypeScript names are the proto names in camelCase; uint64/int64 are bigint.
 *
 * Timestamps: containerd's exited_at fields are gogo `stdtime, nullable=false`, so a missing
 * field decodes on the Go side as the zero time.Time (year 1), which is what the runc shim
 * sends for a process that has not exited: leave `exitedAt` out for "not exited".
 */
import { bool, bytes, enm, i64, map, message, msg, rep, str, u32 } from "./fields.ts";
import type { Schema } from "./wire.ts";
import { Any, Empty, Mount, Status, Timestamp } from "./common.ts";

export * from "./common.ts";
export * from "./events.ts";
export * from "./metrics.ts";

/** The ttrpc service name of the shim's Task API. */
export const TASK_SERVICE = "containerd.task.v2.Task";
/** containerd's events service on `<containerd address>.ttrpc`, method `Forward`. */
export const EVENTS_SERVICE = "containerd.services.events.ttrpc.v1.Events";

// --- ttrpc framing payloads -----------------------------------------------------------------

/** One ttrpc metadata pair. */
export interface KeyValue {
  key: string;
  value: string;
}
export const KeyValue: Schema<KeyValue> = message("ttrpc.KeyValue", [
  str(1, "key"),
  str(2, "value"),
]);

/** The body of a ttrpc request frame. */
export interface TtrpcRequest {
  service: string;
  method: string;
  payload: Uint8Array;
  timeoutNano: bigint;
  metadata: KeyValue[];
}
export const TtrpcRequest: Schema<TtrpcRequest> = message("ttrpc.Request", [
  str(1, "service"),
  str(2, "method"),
  bytes(3, "payload"),
  i64(4, "timeoutNano"),
  rep(msg(5, "metadata", () => KeyValue)),
]);

/** The body of a ttrpc response frame. */
export interface TtrpcResponse {
  status?: Status | undefined;
  payload: Uint8Array;
}
export const TtrpcResponse: Schema<TtrpcResponse> = message("ttrpc.Response", [
  msg(1, "status", () => Status),
  bytes(2, "payload"),
]);

// --- containerd.types / containerd.v1.types -------------------------------------------------

/** containerd.v1.types.Status, the task/process status enum. */
export const TaskStatus = {
  UNKNOWN: 0,
  CREATED: 1,
  RUNNING: 2,
  STOPPED: 3,
  PAUSED: 4,
  PAUSING: 5,
} as const;

/** containerd.v1.types.ProcessInfo. */
export interface ProcessInfo {
  pid: number;
  info?: Any | undefined;
}
export const ProcessInfo: Schema<ProcessInfo> = message("containerd.v1.types.ProcessInfo", [
  u32(1, "pid"),
  msg(2, "info", () => Any),
]);

// --- containerd.task.v2 ---------------------------------------------------------------------

const T = "containerd.task.v2.";
const id = str(1, "id");
const execId = str(2, "execId");

/** A request naming a task and optionally one of its execs. */
interface TaskExecRef {
  id: string;
  execId: string;
}
/** A request naming only a task. */
interface TaskRef {
  id: string;
}

export type StateRequest = TaskExecRef;
export const StateRequest: Schema<StateRequest> = message(T + "StateRequest", [id, execId]);

export interface StateResponse {
  id: string;
  bundle: string;
  pid: number;
  /** A TaskStatus value. */
  status: number;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  exitedAt?: Timestamp | undefined;
  execId: string;
}
export const StateResponse: Schema<StateResponse> = message(T + "StateResponse", [
  id,
  str(2, "bundle"),
  u32(3, "pid"),
  enm(4, "status"),
  str(5, "stdin"),
  str(6, "stdout"),
  str(7, "stderr"),
  bool(8, "terminal"),
  u32(9, "exitStatus"),
  msg(10, "exitedAt", () => Timestamp),
  str(11, "execId"),
]);

export interface CreateTaskRequest {
  id: string;
  bundle: string;
  rootfs: Mount[];
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
  checkpoint: string;
  parentCheckpoint: string;
  options?: Any | undefined;
}
export const CreateTaskRequest: Schema<CreateTaskRequest> = message(T + "CreateTaskRequest", [
  id,
  str(2, "bundle"),
  rep(msg(3, "rootfs", () => Mount)),
  bool(4, "terminal"),
  str(5, "stdin"),
  str(6, "stdout"),
  str(7, "stderr"),
  str(8, "checkpoint"),
  str(9, "parentCheckpoint"),
  msg(10, "options", () => Any),
]);

/** A response carrying only a pid (Create, Start). */
interface PidOnly {
  pid: number;
}
export type CreateTaskResponse = PidOnly;
export const CreateTaskResponse: Schema<CreateTaskResponse> = message(T + "CreateTaskResponse", [
  u32(1, "pid"),
]);

export type StartRequest = TaskExecRef;
export const StartRequest: Schema<StartRequest> = message(T + "StartRequest", [id, execId]);
export type StartResponse = PidOnly;
export const StartResponse: Schema<StartResponse> = message(T + "StartResponse", [u32(1, "pid")]);

export type DeleteRequest = TaskExecRef;
export const DeleteRequest: Schema<DeleteRequest> = message(T + "DeleteRequest", [id, execId]);
export interface DeleteResponse {
  pid: number;
  exitStatus: number;
  exitedAt?: Timestamp | undefined;
}
export const DeleteResponse: Schema<DeleteResponse> = message(T + "DeleteResponse", [
  u32(1, "pid"),
  u32(2, "exitStatus"),
  msg(3, "exitedAt", () => Timestamp),
]);

export type PidsRequest = TaskRef;
export const PidsRequest: Schema<PidsRequest> = message(T + "PidsRequest", [id]);
export interface PidsResponse {
  processes: ProcessInfo[];
}
export const PidsResponse: Schema<PidsResponse> = message(T + "PidsResponse", [
  rep(msg(1, "processes", () => ProcessInfo)),
]);

export type PauseRequest = TaskRef;
export const PauseRequest: Schema<PauseRequest> = message(T + "PauseRequest", [id]);
export type ResumeRequest = TaskRef;
export const ResumeRequest: Schema<ResumeRequest> = message(T + "ResumeRequest", [id]);

export interface CheckpointTaskRequest {
  id: string;
  path: string;
  options?: Any | undefined;
}
export const CheckpointTaskRequest: Schema<CheckpointTaskRequest> = message(
  T + "CheckpointTaskRequest",
  [id, str(2, "path"), msg(3, "options", () => Any)],
);

export interface KillRequest {
  id: string;
  execId: string;
  signal: number;
  all: boolean;
}
export const KillRequest: Schema<KillRequest> = message(T + "KillRequest", [
  id,
  execId,
  u32(3, "signal"),
  bool(4, "all"),
]);

export interface ExecProcessRequest {
  id: string;
  execId: string;
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
  /** The OCI process spec, JSON, type URL types.containerd.io/opencontainers/runtime-spec/1/Process. */
  spec?: Any | undefined;
}
export const ExecProcessRequest: Schema<ExecProcessRequest> = message(T + "ExecProcessRequest", [
  id,
  execId,
  bool(3, "terminal"),
  str(4, "stdin"),
  str(5, "stdout"),
  str(6, "stderr"),
  msg(7, "spec", () => Any),
]);
export type ExecProcessResponse = Empty;
export const ExecProcessResponse: Schema<ExecProcessResponse> = message(
  T + "ExecProcessResponse",
  [],
);

export interface ResizePtyRequest {
  id: string;
  execId: string;
  width: number;
  height: number;
}
export const ResizePtyRequest: Schema<ResizePtyRequest> = message(T + "ResizePtyRequest", [
  id,
  execId,
  u32(3, "width"),
  u32(4, "height"),
]);

export interface CloseIORequest {
  id: string;
  execId: string;
  stdin: boolean;
}
export const CloseIORequest: Schema<CloseIORequest> = message(T + "CloseIORequest", [
  id,
  execId,
  bool(3, "stdin"),
]);

export interface UpdateTaskRequest {
  id: string;
  /** LinuxResources, JSON, type URL types.containerd.io/opencontainers/runtime-spec/1/LinuxResources. */
  resources?: Any | undefined;
  annotations: Record<string, string>;
}
export const UpdateTaskRequest: Schema<UpdateTaskRequest> = message(T + "UpdateTaskRequest", [
  id,
  msg(2, "resources", () => Any),
  map(3, "annotations"),
]);

export type WaitRequest = TaskExecRef;
export const WaitRequest: Schema<WaitRequest> = message(T + "WaitRequest", [id, execId]);
export interface WaitResponse {
  exitStatus: number;
  exitedAt?: Timestamp | undefined;
}
export const WaitResponse: Schema<WaitResponse> = message(T + "WaitResponse", [
  u32(1, "exitStatus"),
  msg(2, "exitedAt", () => Timestamp),
]);

export type StatsRequest = TaskRef;
export const StatsRequest: Schema<StatsRequest> = message(T + "StatsRequest", [id]);
export interface StatsResponse {
  /** A Metrics message, type URL io.containerd.cgroups.v1.Metrics. */
  stats?: Any | undefined;
}
export const StatsResponse: Schema<StatsResponse> = message(T + "StatsResponse", [
  msg(1, "stats", () => Any),
]);

export type ConnectRequest = TaskRef;
export const ConnectRequest: Schema<ConnectRequest> = message(T + "ConnectRequest", [id]);
export interface ConnectResponse {
  shimPid: number;
  taskPid: number;
  version: string;
}
export const ConnectResponse: Schema<ConnectResponse> = message(T + "ConnectResponse", [
  u32(1, "shimPid"),
  u32(2, "taskPid"),
  str(3, "version"),
]);

export interface ShutdownRequest {
  id: string;
  now: boolean;
}
export const ShutdownRequest: Schema<ShutdownRequest> = message(T + "ShutdownRequest", [
  id,
  bool(2, "now"),
]);
