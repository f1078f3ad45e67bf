/** Small pieces the lifecycle commands share. */
import type { HookState } from "../hooks.ts";
import type { Spec } from "../spec/config.ts";
import type { ContainerRecord } from "../state/record.ts";
import type { ContainerStatus } from "../state/status.ts";
import { acquire, type ContainerLock } from "../state/lock.ts";
import { StateStore } from "../state/store.ts";

/** The state JSON a hook receives, from the config at create time. */
export function hookState(
  spec: Spec,
  id: string,
  status: ContainerStatus,
  pid: number,
  bundle: string,
): HookState {
  return {
    ociVersion: spec.ociVersion,
    id,
    status,
    pid,
    bundle,
    annotations: spec.annotations ?? {},
  };
}

/** The state JSON a hook receives, from a container's record. */
export function recordHookState(rec: ContainerRecord, status: ContainerStatus): HookState {
  return {
    ociVersion: rec.ociVersion,
    id: rec.id,
    status,
    ...(status === "stopped" ? {} : { pid: rec.pid }),
    bundle: rec.bundle,
    annotations: rec.annotations,
  };
}

/**
 * Locks container `id` with a state store of its own; `release` lets go of both. The shim
 * calls the lifecycle for as long as it lives, so no descriptor may stay open, even when the
 * lock cannot be had.
 */
export function lockContainer(
  root: string,
  id: string,
): { store: StateStore; lock: ContainerLock; release(): void } {
  const store = new StateStore(root);
  let lock: ContainerLock;
  try {
    lock = acquire(store, id);
  } catch (err) {
    store.close();
    throw err;
  }
  return {
    store,
    lock,
    release() {
      lock.release();
      store.close();
    },
  };
}
