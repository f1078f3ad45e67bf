/** `pause`, `resume`, `update` and `ps`: what a container's cgroup lets denki do to it. */
import { Cgroup } from "../cgroups/manager.ts";
import { DenkiError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Resources } from "../spec/config.ts";
import { lockContainer } from "./common.ts";
import type { ContainerRecord } from "../state/record.ts";
import { type ContainerStatus, requireStatus } from "../state/status.ts";
import { readContainer } from "./read.ts";

/** A container's record, live status and cgroup; refused when it has no cgroup. */
export function withCgroup(
  root: string,
  id: string,
  what: string,
): { rec: ContainerRecord; status: ContainerStatus; cg: Cgroup } {
  const { rec, status } = readContainer(root, id);
  if (rec.cgroup === undefined) {
    throw new DenkiError(
      `cannot ${what} container "${id}": it has no cgroup (rootless containers get none)`,
    );
  }
  return { rec, status, cg: new Cgroup(rec.cgroup) };
}

/** Freezes every process of a created or running container. */
export function pauseContainer(root: string, id: string): Promise<void> {
  return setFrozen(root, id, "pause");
}

/** Thaws a paused container. */
export function resumeContainer(root: string, id: string): Promise<void> {
  return setFrozen(root, id, "resume");
}

async function setFrozen(root: string, id: string, op: "pause" | "resume"): Promise<void> {
  const { release } = lockContainer(root, id);
  try {
    const { status, cg } = withCgroup(root, id, op);
    requireStatus(op, id, status);
    await (op === "pause" ? cg.freeze() : cg.thaw());
  } finally {
    release();
  }
}

/** Applies new resource limits to a live container (devices are left as they are, as in runc). */
export function updateContainer(root: string, id: string, r: Resources, log: Logger): void {
  const { release } = lockContainer(root, id);
  try {
    const { status, cg } = withCgroup(root, id, "update");
    if (status === "stopped") {
      throw new DenkiError(`cannot update container "${id}": it is stopped`);
    }
    const resources: Resources = { ...r };
    delete resources.devices;
    // v2 keeps swap apart from memory: a new total needs the limit it is counted against.
    const mem = resources.memory;
    if (
      mem?.swap !== undefined && mem.limit === undefined && cg.rec.v1.memory === undefined &&
      cg.rec.v2 !== undefined
    ) {
      const current = (cg.io.read(`${cg.rec.v2}/memory.max`) ?? "max").trim();
      if (current !== "max") resources.memory = { ...mem, limit: Number(current) };
    }
    for (const note of cg.apply(resources, { devices: false })) log.warn(note);
  } finally {
    release();
  }
}

/** The pids of a container's processes (in the host's pid namespace). */
export function containerProcesses(root: string, id: string): number[] {
  const { status, cg } = withCgroup(root, id, "list the processes of");
  if (status === "stopped") {
    throw new DenkiError(`cannot list the processes of container "${id}": it is stopped`);
  }
  return cg.pids();
}
