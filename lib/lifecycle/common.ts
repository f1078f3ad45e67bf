/** Small pieces the lifecycle commands share. */
import type { HookState } from "../hooks.ts";
import type { Spec } from "../spec/config.ts";
import type { ContainerRecord } from "../state/record.ts";
import type { ContainerStatus } from "../state/status.ts";

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
