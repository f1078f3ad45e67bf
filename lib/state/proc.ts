/** Reading /proc/<pid>/stat for liveness checks. */
import { readTextRaw } from "../sys/rawfs.ts";
import type { ContainerRecord } from "./record.ts";
import { type ContainerStatus, liveStatus, type ProcessInfo } from "./status.ts";

/**
 * Parses the text of /proc/<pid>/stat. The command name (field 2) may contain spaces and
 * parentheses, so fields are counted from the last ")".
 */
export function parseProcStat(text: string): ProcessInfo | undefined {
  const close = text.lastIndexOf(")");
  if (close === -1) return undefined;
  // After ") " come fields 3 (state), 4 (ppid), ... 22 (starttime).
  const fields = text.slice(close + 2).trim().split(" ");
  const state = fields[0];
  const start = fields[19];
  if (state === undefined || start === undefined || !/^\d+$/.test(start)) return undefined;
  return { state, startTime: Number(start) };
}

/** Reads /proc/<pid>/stat under `procRoot`; undefined when the process does not exist. */
export function readProcessInfo(pid: number, procRoot = "/proc"): ProcessInfo | undefined {
  // Through raw syscalls: Deno's fs APIs refuse /proc without --allow-all.
  const text = readTextRaw(`${procRoot}/${pid}/stat`);
  return text === undefined ? undefined : parseProcStat(text);
}

/** The status to report for a recorded container, checked against the live process table. */
export function currentStatus(record: ContainerRecord): ContainerStatus {
  return liveStatus(record.status, record.pid, record.pidStartTime, readProcessInfo);
}
