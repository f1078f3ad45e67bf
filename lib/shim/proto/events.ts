/**
 * Task events (package containerd.events, api/events/task.proto in containerd v1.6.20) and the
 * envelope the shim forwards them in (containerd.services.events.ttrpc.v1, method Forward).
 *
 * Type URLs: containerd 1.6's typeurl.TypeURL looks a Go type up in its own registry first
 * (only the OCI runtime-spec JSON types are registered there) and otherwise falls back to
 * gogo's proto.MessageName, the bare full proto name with no "type.googleapis.com/" prefix.
 * So a TaskExit travels as type_url "containerd.events.TaskExit", and containerd decodes it
 * by that name.
 */
import { bool, message, msg, rep, str, u32 } from "./fields.ts";
import type { MessageInit, Schema } from "./wire.ts";
import { Any, Mount, Timestamp, toAny, toTimestamp } from "./common.ts";

const E = "containerd.events.";
const containerId = str(1, "containerId");

/** containerd.events.TaskIO. */
export interface TaskIO {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}
export const TaskIO: Schema<TaskIO> = message(E + "TaskIO", [
  str(1, "stdin"),
  str(2, "stdout"),
  str(3, "stderr"),
  bool(4, "terminal"),
]);

export interface TaskCreate {
  containerId: string;
  bundle: string;
  rootfs: Mount[];
  io?: TaskIO | undefined;
  checkpoint: string;
  pid: number;
}
export const TaskCreate: Schema<TaskCreate> = message(E + "TaskCreate", [
  containerId,
  str(2, "bundle"),
  rep(msg(3, "rootfs", () => Mount)),
  msg(4, "io", () => TaskIO),
  str(5, "checkpoint"),
  u32(6, "pid"),
]);

export interface TaskStart {
  containerId: string;
  pid: number;
}
export const TaskStart: Schema<TaskStart> = message(E + "TaskStart", [containerId, u32(2, "pid")]);

export interface TaskDelete {
  containerId: string;
  pid: number;
  exitStatus: number;
  exitedAt?: Timestamp | undefined;
  /** The exec id; "" for the task's init. */
  id: string;
}
export const TaskDelete: Schema<TaskDelete> = message(E + "TaskDelete", [
  containerId,
  u32(2, "pid"),
  u32(3, "exitStatus"),
  msg(4, "exitedAt", () => Timestamp),
  str(5, "id"),
]);

export interface TaskExit {
  containerId: string;
  /** The exec id, or the container id for the task's init (as the runc shim sends it). */
  id: string;
  pid: number;
  exitStatus: number;
  exitedAt?: Timestamp | undefined;
}
export const TaskExit: Schema<TaskExit> = message(E + "TaskExit", [
  containerId,
  str(2, "id"),
  u32(3, "pid"),
  u32(4, "exitStatus"),
  msg(5, "exitedAt", () => Timestamp),
]);

/** An event that names only the container. */
interface ContainerOnly {
  containerId: string;
}
export type TaskOOM = ContainerOnly;
export const TaskOOM: Schema<TaskOOM> = message(E + "TaskOOM", [containerId]);
export type TaskPaused = ContainerOnly;
export const TaskPaused: Schema<TaskPaused> = message(E + "TaskPaused", [containerId]);
export type TaskResumed = ContainerOnly;
export const TaskResumed: Schema<TaskResumed> = message(E + "TaskResumed", [containerId]);

export interface TaskExecAdded {
  containerId: string;
  execId: string;
}
export const TaskExecAdded: Schema<TaskExecAdded> = message(E + "TaskExecAdded", [
  containerId,
  str(2, "execId"),
]);

export interface TaskExecStarted {
  containerId: string;
  execId: string;
  pid: number;
}
export const TaskExecStarted: Schema<TaskExecStarted> = message(E + "TaskExecStarted", [
  containerId,
  str(2, "execId"),
  u32(3, "pid"),
]);

/** Each task event's topic, type URL and schema. */
export const EVENT_TOPICS = {
  TaskCreate: { topic: "/tasks/create", typeUrl: E + "TaskCreate", schema: TaskCreate },
  TaskStart: { topic: "/tasks/start", typeUrl: E + "TaskStart", schema: TaskStart },
  TaskDelete: { topic: "/tasks/delete", typeUrl: E + "TaskDelete", schema: TaskDelete },
  TaskExit: { topic: "/tasks/exit", typeUrl: E + "TaskExit", schema: TaskExit },
  TaskOOM: { topic: "/tasks/oom", typeUrl: E + "TaskOOM", schema: TaskOOM },
  TaskExecAdded: {
    topic: "/tasks/exec-added",
    typeUrl: E + "TaskExecAdded",
    schema: TaskExecAdded,
  },
  TaskExecStarted: {
    topic: "/tasks/exec-started",
    typeUrl: E + "TaskExecStarted",
    schema: TaskExecStarted,
  },
  TaskPaused: { topic: "/tasks/paused", typeUrl: E + "TaskPaused", schema: TaskPaused },
  TaskResumed: { topic: "/tasks/resumed", typeUrl: E + "TaskResumed", schema: TaskResumed },
} as const;

/** The TypeScript type of each event. */
export interface TaskEvents {
  TaskCreate: TaskCreate;
  TaskStart: TaskStart;
  TaskDelete: TaskDelete;
  TaskExit: TaskExit;
  TaskOOM: TaskOOM;
  TaskExecAdded: TaskExecAdded;
  TaskExecStarted: TaskExecStarted;
  TaskPaused: TaskPaused;
  TaskResumed: TaskResumed;
}

/** containerd.services.events.ttrpc.v1.Envelope. */
export interface Envelope {
  timestamp?: Timestamp | undefined;
  namespace: string;
  topic: string;
  event?: Any | undefined;
}
export const Envelope: Schema<Envelope> = message("containerd.services.events.ttrpc.v1.Envelope", [
  msg(1, "timestamp", () => Timestamp),
  str(2, "namespace"),
  str(3, "topic"),
  msg(4, "event", () => Any),
]);

/** containerd.services.events.ttrpc.v1.ForwardRequest. */
export interface ForwardRequest {
  envelope?: Envelope | undefined;
}
export const ForwardRequest: Schema<ForwardRequest> = message(
  "containerd.services.events.ttrpc.v1.ForwardRequest",
  [msg(1, "envelope", () => Envelope)],
);

/** The ForwardRequest that publishes one task event in `namespace`, stamped `at` (default now). */
export function eventForward<K extends keyof TaskEvents>(
  kind: K,
  namespace: string,
  event: MessageInit<TaskEvents[K]>,
  at?: Date,
): ForwardRequest {
  const t = EVENT_TOPICS[kind];
  return {
    envelope: {
      timestamp: toTimestamp(at),
      namespace,
      topic: t.topic,
      event: toAny(t.typeUrl, t.schema as Schema<TaskEvents[K]>, event),
    },
  };
}
