/** `kill` and `delete`: signals to the container, and its removal. */
import { Phases } from "../phases.ts";
import { ContainerNotFound, DenkiError, quote } from "../errors.ts";
import { runHooksWarning } from "../hooks.ts";
import type { Logger } from "../log.ts";
import { currentStatus, readProcessInfo } from "../state/proc.ts";
import type { CreatingRecord } from "../state/record.ts";
import { isAlive, requireStatus } from "../state/status.ts";
import { OWN_NAMES, StateStore } from "../state/store.ts";
import { acquireAny, type ContainerLock } from "../state/lock.ts";
import * as sc from "../sys/syscalls.ts";
import { recordHookState } from "./common.ts";
import { SIGKILL } from "../plan/abi.ts";
import { Cgroup, type CgroupRecord } from "../cgroups/manager.ts";
import { realIo } from "../cgroups/io.ts";
import { FileParentBook } from "../cgroups/parents.ts";
import { undoHostMounts } from "../linux/host_mounts.ts";
import { otherNamespaces, signalCgroup } from "./processes.ts";

/** Waits until a process is gone (or a zombie), up to `ms`. */
async function waitGone(pid: number, startTime: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid, startTime, readProcessInfo)) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return !isAlive(pid, startTime, readProcessInfo);
}

/**
 * Deletes a container: a stopped one is removed, a created one is killed first (as runc
 * does), a running or paused one only with `force`. Poststop hooks run last. A directory
 * without state (left by a create that died) is undone and removed, with or without force.
 */
export async function deleteContainer(
  root: string,
  id: string,
  force: boolean,
  log: Logger,
): Promise<void> {
  const phases = new Phases();
  phases.mark("start-up");
  const store = new StateStore(root);
  try {
    await deleteIn(store, id, force, log, phases);
  } finally {
    store.close(); // the shim calls this for as long as it lives
  }
}

async function deleteIn(
  store: StateStore,
  id: string,
  force: boolean,
  log: Logger,
  phases: Phases,
): Promise<void> {
  const root = store.root;
  // Waits for a create still at work; what is left once it is gone is a container or a leftover.
  const lock = acquireAny(store, id);
  phases.mark("locked");
  if (lock === undefined) {
    // runc: delete --force of a container that does not exist is not an error.
    if (force) return;
    throw new ContainerNotFound(id);
  }
  try {
    if (!store.hasStateAt(lock.fd)) {
      await undoLeftover(store, lock, log);
      store.remove(lock);
      return;
    }
    const rec = store.read(id);
    const status = currentStatus(rec, lock.dir);
    if (!force) requireStatus("delete", id, status);
    phases.mark("state read");
    if (status !== "stopped") {
      sc.kill(rec.pid, SIGKILL);
      // A paused init dies only once thawed.
      if (status === "paused" && rec.cgroup) await new Cgroup(rec.cgroup).thaw();
      if (!(await waitGone(rec.pid, rec.pidStartTime, 10_000))) {
        throw new DenkiError(
          `cannot delete container "${id}": its init (pid ${rec.pid}) did not die`,
        );
      }
    }
    // A container without a mount namespace: its mounts in the host's table go with it (a
    // failure keeps the state and the cgroup, so delete can be tried again).
    phases.mark("init gone");
    undoHostMounts(rec.rootfs, rec.mounts ?? [], [], (m) => log.warn(m));
    if (rec.cgroup !== undefined) await removeCgroup(root, rec.cgroup, status === "stopped", log);
    phases.mark("cgroup removed");
    store.remove(lock);
    phases.mark("state removed");
    await runHooksWarning(
      "poststop",
      rec.hooks?.poststop,
      recordHookState(rec, "stopped"),
      (message) => log.warn(message),
    );
    log.debug(`delete phases: ${phases.format()}`);
  } finally {
    lock.release();
  }
}

/**
 * Kills what is left in a container's cgroup and removes it. Whatever is left (a container
 * sharing the host's pid namespace leaves its processes behind when its init exits) belongs
 * to the container and goes with it. Once the init is gone (`initGone`), processes in
 * another pid namespace cannot be its own (they died with its init): they belong to whoever
 * reused the cgroup, and it is left in place.
 */
async function removeCgroup(
  root: string,
  rec: CgroupRecord,
  initGone: boolean,
  log: Logger,
): Promise<void> {
  const cg = new Cgroup(rec, realIo, new FileParentBook(root));
  const left = cg.pids();
  const foreign = initGone ? otherNamespaces(left) : [];
  if (foreign.length > 0) {
    log.warn(
      `cgroup ${rec.path} is in use by processes of another container (${
        foreign.join(", ")
      }): left in place`,
    );
    return;
  }
  if (left.length > 0) await signalCgroup(rec, SIGKILL);
  await cg.remove();
}

/**
 * Undoes what a create that died had made, as its creating record says: its init is killed
 * (when it is still the recorded process), its cgroup emptied and removed, and denki's files
 * in its directory removed. The directory itself stays (locked) for the caller to remove or
 * reuse. A directory holding anything denki does not make is refused untouched: it was not
 * made by denki, and emptying it could destroy someone's files.
 */
export async function undoLeftover(
  store: StateStore,
  lock: ContainerLock,
  log: Logger,
): Promise<void> {
  const names = sc.listDirFd(lock.fd, lock.dir);
  const foreign = names.find((n) => !OWN_NAMES.includes(n));
  if (foreign !== undefined) {
    throw new DenkiError(
      `refusing to clear state directory ${lock.dir}: it holds ${
        quote(foreign)
      }, which denki does not make (remove it by hand if it is no container's)`,
    );
  }
  let rec: CreatingRecord | undefined;
  try {
    rec = store.readCreatingAt(lock.fd, lock.id);
  } catch (err) {
    // Written atomically, so only a hand-made file can be corrupt: what it made is unknown.
    log.warn(`${(err as Error).message}: anything its create made is left in place`);
  }
  // As in delete: with the init killed here, what else is in the cgroup was its own.
  const alive = rec !== undefined && isAlive(rec.pid, rec.pidStartTime, readProcessInfo);
  if (alive) {
    const { pid, pidStartTime } = rec!;
    sc.kill(pid, SIGKILL);
    if (!(await waitGone(pid, pidStartTime, 10_000))) {
      throw new DenkiError(
        `cannot remove container "${lock.id}": its init (pid ${pid}) did not die`,
      );
    }
  }
  if (rec !== undefined) {
    undoHostMounts(rec.rootfs, rec.mounts ?? [], rec.pendingMounts ?? [], (m) => log.warn(m));
  }
  if (rec?.cgroup !== undefined) await removeCgroup(store.root, rec.cgroup, !alive, log);
  for (const name of names) {
    try {
      sc.unlinkat(lock.fd, name);
    } catch (err) {
      throw new DenkiError(`cannot clear state directory ${lock.dir}: ${(err as Error).message}`);
    }
  }
}
