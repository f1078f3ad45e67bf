/**
 * Half-made containers. `create` writes a creating record (store.ts) when it claims the id,
 * before it makes anything, saying where the container's cgroup will go; once the init is
 * spawned it adds the init's pid and start time. A create killed midway (SIGKILL, OOM, a
 * reboot of the caller) then leaves a directory that says what to undo: `delete` (stop.ts)
 * and a later `create` of the same id undo it.
 */
import { Cgroup, type CgroupRecord } from "../cgroups/manager.ts";
import type { CgroupIo } from "../cgroups/io.ts";
import { realIo } from "../cgroups/io.ts";
import type { Layout } from "../cgroups/layout.ts";
import type { Logger } from "../log.ts";
import { readProcessInfo } from "../state/proc.ts";
import type { CreatingRecord } from "../state/record.ts";
import { claim, type ContainerLock } from "../state/lock.ts";
import type { StateStore } from "../state/store.ts";
import { undoLeftover } from "./stop.ts";

/**
 * The cgroup record `Cgroup.create` would produce, found without making anything: its
 * `created` lists the directories that do not exist yet (and denki's shared parent). A cgroup
 * with processes in it is not refused here: it may be another create's of the same id, which
 * the claim reports better; `Cgroup.create` after the claim refuses it.
 */
export function plannedCgroup(layout: Layout, path: string): CgroupRecord {
  const dryRun: CgroupIo = {
    read: (p) => p.endsWith("/cgroup.procs") ? "" : realIo.read(p),
    write: () => {},
    mkdir: (p) => !realIo.exists(p),
    rmdir: () => 0,
    exists: (p) => realIo.exists(p),
    children: (p) => realIo.children(p),
  };
  return Cgroup.create(layout, path, dryRun).rec;
}

/** The first creating record of a container: who creates it, and where its cgroup goes. */
export function creatingRecord(
  fields: { id: string; bundle: string; rootfs: string; owner: string; created: string },
  cgroup: CgroupRecord | undefined,
): CreatingRecord {
  return {
    ...fields,
    creatorPid: Deno.pid,
    creatorStartTime: readProcessInfo(Deno.pid)?.startTime ?? 0,
    pid: 0,
    pidStartTime: 0,
    ...(cgroup === undefined ? {} : { cgroup }),
  };
}

/** The record once the init exists (its start time guards against a reused pid). */
export function withInit(rec: CreatingRecord, pid: number): CreatingRecord {
  return { ...rec, pid, pidStartTime: readProcessInfo(pid)?.startTime ?? 0 };
}

/**
 * Claims the id for `rec` (undoing the leftover of a create of the same id that died) and
 * writes the creating record: from here on a killed create leaves what `delete` needs.
 */
export async function claimContainer(
  store: StateStore,
  rec: CreatingRecord,
  log: Logger,
): Promise<ContainerLock> {
  const lock = claim(store, rec.id);
  try {
    if (lock.leftover) {
      log.debug(`container "${rec.id}": undoing what an earlier create of it left`);
      await undoLeftover(store, lock, log);
    }
    store.writeCreating(lock, rec);
    return lock;
  } catch (err) {
    lock.release();
    throw err;
  }
}
