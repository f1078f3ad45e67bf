/**
 * Container status: which commands each status allows, and the live status of a recorded
 * container (a workload that died by itself, or whose pid was reused, is "stopped").
 */
import { InvalidState } from "../errors.ts";

/** The runtime-spec status values. */
export type ContainerStatus = "creating" | "created" | "running" | "paused" | "stopped";

/** Commands whose permission depends on the status. */
export type Operation = "start" | "kill" | "delete" | "pause" | "resume" | "exec";

/** Statuses in which each operation may proceed (`delete` without --force, as runc). */
const ALLOWED: Record<Operation, readonly ContainerStatus[]> = {
  start: ["created"],
  kill: ["created", "running", "paused"],
  delete: ["created", "stopped"],
  pause: ["created", "running"],
  resume: ["paused"],
  exec: ["created", "running"],
};

/** True when `op` is allowed in `status`. */
export function allows(op: Operation, status: ContainerStatus): boolean {
  return ALLOWED[op].includes(status);
}

/** Throws InvalidState naming the container, its status and what the operation needs. */
export function requireStatus(op: Operation, id: string, status: ContainerStatus): void {
  if (allows(op, status)) return;
  const need = ALLOWED[op].map((s) => `"${s}"`).join(" or ");
  throw new InvalidState(
    `cannot ${op} container "${id}": its status is "${status}" (needs ${need})`,
  );
}

/** What a liveness check learns about a pid from /proc/<pid>/stat. */
export interface ProcessInfo {
  /** Single-letter process state (R, S, D, Z, X, T, ...). */
  state: string;
  /** Start time in clock ticks since boot (field 22), identifies the process across pid reuse. */
  startTime: number;
}

/** Reads process information for a pid; undefined when there is no such process. */
export type ProcessReader = (pid: number) => ProcessInfo | undefined;

/** True when `pid` is the same living process that was recorded with `startTime`. */
export function isAlive(pid: number, startTime: number, read: ProcessReader): boolean {
  if (pid <= 0) return false;
  const info = read(pid);
  if (info === undefined) return false;
  if (info.state === "Z" || info.state === "X" || info.state === "x") return false;
  return info.startTime === startTime;
}

/** The status to report: a recorded live status whose process is gone becomes "stopped". */
export function liveStatus(
  recorded: ContainerStatus,
  pid: number,
  startTime: number,
  read: ProcessReader,
): ContainerStatus {
  if (recorded === "stopped" || recorded === "creating") return recorded;
  return isAlive(pid, startTime, read) ? recorded : "stopped";
}
