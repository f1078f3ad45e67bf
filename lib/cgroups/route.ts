/**
 * Which driver writes each of a container's resources when both cgroup versions are there
 * (a hybrid host): v1 writes the controllers it has, in its own form; v2 writes the
 * controllers its root offers and v1 lacks, and its core files (cgroup.*). Everything is
 * decided, and every refusal made, before anything is written.
 */
import { DenkiError } from "../errors.ts";
import type { Resources } from "../spec/config.ts";
import type { CgroupDriver } from "./driver.ts";
import type { Write } from "./resources.ts";

/** Writes for one driver, in order. */
export type Batch = [driver: CgroupDriver, writes: Write[]];

/**
 * Splits `r` between the drivers; batches run in the order returned (v1's, then v2's).
 * `v1` is undefined when the host has no v1 hierarchy, `v2` when it has no unified one
 * (one of them is always given). Warnings for settings a v2-only host lacks go to `notes`.
 */
export function routeResources(
  r: Resources,
  v1: CgroupDriver | undefined,
  v2: CgroupDriver | undefined,
  notes: string[],
): Batch[] {
  const toV2: Write[] = [];
  // A unified hierarchy with no controllers of its own (hybrid) takes nothing.
  if (v2 !== undefined && (v2.controllers().length > 0 || v1 === undefined)) {
    for (const write of v2.writes(r)) {
      if (v1?.hasController(write.controller)) {
        // v1 writes its own form of the setting; a raw v2 file has no v1 form.
        if (write.field.startsWith("unified.")) {
          throw new DenkiError(
            `linux.resources.${write.field}: the ${write.controller} controller is on cgroup v1 here, so it has no v2 files`,
          );
        }
        continue;
      }
      if (v2.hasController(write.controller)) toV2.push(write);
      else if (v1 === undefined) throw missing(write);
    }
    if (v1 === undefined) {
      for (const f of v2.unsupported(r)) {
        notes.push(`linux.resources.${f} ignored: cgroup v2 has no such setting`);
      }
      return [[v2, toV2]];
    }
  } else if ((Object.keys(r.unified ?? {})).length > 0) {
    throw new DenkiError(
      "linux.resources.unified needs cgroup v2, which this host does not have",
    );
  }
  if (v1 === undefined) return [];
  // A setting v2 took (a v2-only controller of a hybrid host) needs no v1 controller.
  const covered = new Set(toV2.map((w) => w.field));
  const toV1: Write[] = [];
  for (const write of v1.writes(r)) {
    if (v1.hasController(write.controller)) toV1.push(write);
    else if (!covered.has(write.field)) throw missing(write);
  }
  return v2 === undefined ? [[v1, toV1]] : [[v1, toV1], [v2, toV2]];
}

function missing(write: Write): DenkiError {
  return new DenkiError(
    `linux.resources.${write.field}: the ${write.controller} cgroup controller is not available on this host`,
  );
}
