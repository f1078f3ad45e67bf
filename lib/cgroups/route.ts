/**
 * Which driver writes each of a container's resources. Every setting belongs to one
 * controller; the driver that serves that controller (v1 where it has it, else v2) gets the
 * setting and translates it into its own files, and the other driver never sees it: neither
 * translates it nor refuses it. A setting whose controller nobody serves is refused, naming
 * the field. Everything is decided, and every refusal made, before anything is written.
 */
import { DenkiError } from "../errors.ts";
import type { Resources } from "../spec/config.ts";
import type { CgroupDriver } from "./driver.ts";
import type { Write } from "./resources.ts";
import { v1Writes } from "./v1/resources.ts";
import { unifiedController } from "./v2/resources.ts";

/** Writes for one driver, in order. */
export type Batch = [driver: CgroupDriver, writes: Write[]];

/** One controller's share of `linux.resources`. */
interface Part {
  /** The controller's name under cgroup v1. */
  v1: string;
  /** Its name under cgroup v2; absent where v2 has no such controller. */
  v2?: string;
  /** The settings of `r` that belong to this controller (an empty object when none). */
  cut(r: Resources): Resources;
}

/** `r[key]` whole, when set. */
function whole(key: "memory" | "pids" | "blockIO" | "hugepageLimits" | "rdma") {
  return (r: Resources): Resources => r[key] === undefined ? {} : { [key]: r[key] };
}

/** Fields of `r[key]` that `mine` takes (cpu/cpuset share `cpu`, net_cls/net_prio `network`). */
function pick(key: "cpu" | "network", mine: (field: string) => boolean) {
  return (r: Resources): Resources => {
    const set = Object.entries(r[key] ?? {}).filter(([k, v]) => mine(k) && v !== undefined);
    return set.length === 0 ? {} : { [key]: Object.fromEntries(set) };
  };
}

const CPUSET = ["cpus", "mems"];

/**
 * Every field of `linux.resources` but `devices` (apply's own step) and `unified` (by file).
 * cpu and net_prio take the rest of their key, so a field the spec adds there is not lost.
 */
const PARTS: readonly Part[] = [
  { v1: "memory", v2: "memory", cut: whole("memory") },
  { v1: "cpu", v2: "cpu", cut: pick("cpu", (f) => !CPUSET.includes(f)) },
  { v1: "cpuset", v2: "cpuset", cut: pick("cpu", (f) => CPUSET.includes(f)) },
  { v1: "pids", v2: "pids", cut: whole("pids") },
  { v1: "blkio", v2: "io", cut: whole("blockIO") },
  { v1: "hugetlb", v2: "hugetlb", cut: whole("hugepageLimits") },
  { v1: "net_cls", cut: pick("network", (f) => f === "classID") },
  { v1: "net_prio", cut: pick("network", (f) => f !== "classID") },
  { v1: "rdma", v2: "rdma", cut: whole("rdma") },
];

/** `r` split by controller (v1's names), leaving out controllers it sets nothing for. */
export function byController(r: Resources): [controller: string, share: Resources][] {
  return PARTS.map((p): [string, Resources] => [p.v1, p.cut(r)])
    .filter(([, share]) => Object.keys(share).length > 0);
}

/**
 * Splits `r` between the drivers; batches run in the order returned (v1's, then v2's).
 * `v1` is undefined when the host has no v1 hierarchy, `v2` when it has no unified one
 * (one of them is always given). Warnings for settings v2 lacks (for controllers it serves)
 * go to `notes`.
 */
export function routeResources(
  r: Resources,
  v1: CgroupDriver | undefined,
  v2: CgroupDriver | undefined,
  notes: string[],
): Batch[] {
  // Named v1 hierarchies (name=systemd) alone make no v1 host: v2 then serves everything.
  const legacy = v1 !== undefined && v1.controllers().length > 0;
  const toV1: Resources[] = [];
  const toV2: Resources[] = [];
  for (const part of PARTS) {
    const cut = part.cut(r);
    if (Object.keys(cut).length === 0) continue;
    if (v1?.hasController(part.v1)) toV1.push(cut);
    else if (v2 !== undefined && (!legacy || (part.v2 && v2.hasController(part.v2)))) {
      // A v2-only host takes what v2 lacks too: v2 warns about it (`unsupported`).
      toV2.push(cut);
    } else {
      // The spec's fields are v1's: its translation names the first one that sets anything.
      const write = v1Writes(cut)[0];
      if (write !== undefined) throw missing(write.field, part.v1);
    }
  }
  const unified = routeUnified(r.unified, legacy ? v1 : undefined, v2);
  if (unified !== undefined) toV2.push({ unified });
  const batches: Batch[] = [];
  if (v1 !== undefined) batches.push([v1, served(v1, merge(toV1))]);
  if (v2 !== undefined) {
    const mine = merge(toV2);
    for (const f of v2.unsupported(mine)) {
      notes.push(`linux.resources.${f} ignored: cgroup v2 has no such setting`);
    }
    batches.push([v2, served(v2, mine)]);
  }
  return batches;
}

/**
 * The `unified` entries, all for v2: each file's controller must be one v2 serves (its core
 * files, cgroup.*, need none). A controller v1 serves has no v2 files here.
 */
function routeUnified(
  unified: Record<string, string> | undefined,
  v1: CgroupDriver | undefined,
  v2: CgroupDriver | undefined,
): Record<string, string> | undefined {
  const entries = Object.entries(unified ?? {});
  if (entries.length === 0) return undefined;
  if (v2 === undefined) {
    throw new DenkiError("linux.resources.unified needs cgroup v2, which this host does not have");
  }
  for (const [key] of entries) {
    const controller = unifiedController(key);
    if (v1?.hasController(controller)) {
      throw new DenkiError(
        `linux.resources.unified.${key}: the ${controller} controller is on cgroup v1 here, so it has no v2 files`,
      );
    }
    if (!v2.hasController(controller)) throw missing(`unified.${key}`, controller);
  }
  return Object.fromEntries(entries);
}

/** `driver`'s writes for `r`, each checked to be for a controller it serves. */
function served(driver: CgroupDriver, r: Resources): Write[] {
  const writes = driver.writes(r);
  const stray = writes.find((w) => !driver.hasController(w.controller));
  if (stray !== undefined) throw missing(stray.field, stray.controller);
  return writes;
}

/** The parts as one Resources (parts that share a key, such as cpu and cpuset, joined). */
function merge(parts: readonly Resources[]): Resources {
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      const had = out[key];
      out[key] = isRecord(had) && isRecord(value) ? { ...had, ...value } : value;
    }
  }
  return out as Resources;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function missing(field: string, controller: string): DenkiError {
  return new DenkiError(
    `linux.resources.${field}: the ${controller} cgroup controller is not available on this host`,
  );
}
