/** Reading /proc/<pid>/stat for liveness checks. */
import { readTextRaw } from "../sys/rawfs.ts";
import type { ContainerRecord, CreatingRecord, OciState } from "./record.ts";
import { EXEC_FIFO } from "./store.ts";
import { type ContainerStatus, isAlive, liveStatus, type ProcessInfo } from "./status.ts";

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

/** True when the container's cgroup is frozen (v1 freezer.state, or v2 cgroup.freeze). */
export function isFrozen(record: ContainerRecord): boolean {
  const cg = record.cgroup;
  if (cg === undefined) return false;
  const v1 = cg.v1.freezer;
  if (v1 !== undefined) return readTextRaw(`${v1}/freezer.state`)?.trim() === "FROZEN";
  if (cg.v2 === undefined) return false;
  return /^frozen 1$/m.test(readTextRaw(`${cg.v2}/cgroup.events`) ?? "");
}

/**
 * The status to report for a recorded container in `dir`: checked against the live process
 * table, and, as runc does, "created" only while the exec fifo exists (a `start` that was
 * interrupted after releasing the init must not leave the container looking unstarted).
 */
export function currentStatus(record: ContainerRecord, dir: string): ContainerStatus {
  const live = liveStatus(record.status, record.pid, record.pidStartTime, readProcessInfo);
  if (live === "stopped") return live;
  // Paused is whatever the freezer says: a container thawed behind denki's back is running.
  if (isFrozen(record)) return "paused";
  if (live !== "created" && live !== "paused") return live;
  try {
    Deno.statSync(`${dir}/${EXEC_FIFO}`);
    return "created";
  } catch {
    return "running";
  }
}

/**
 * The OCI state shown for a directory without state.json: "creating" while the create that
 * made it runs (pid: its init, once spawned), "stopped" with pid 0 once that create is gone,
 * until `delete` removes what it left. A directory with no record at all is "stopped".
 */
export function creatingState(id: string, rec: CreatingRecord | undefined): OciState {
  const creating = rec !== undefined &&
    isAlive(rec.creatorPid, rec.creatorStartTime, readProcessInfo);
  const initAlive = rec !== undefined && isAlive(rec.pid, rec.pidStartTime, readProcessInfo);
  return {
    ociVersion: "",
    id,
    pid: creating && initAlive ? rec.pid : 0,
    status: creating ? "creating" : "stopped",
    bundle: rec?.bundle ?? "",
    rootfs: rec?.rootfs ?? "",
    created: rec?.created ?? "",
    owner: rec?.owner ?? "",
  };
}
