/**
 * Resource usage of a container's cgroup in the JSON shape `runc events` prints (runc 1.1's
 * types/events.go; see stats_format.ts). Each section comes from the v1 controller that has
 * it (v1/stats.ts), else from the cgroup v2 directory (v2/stats.ts), else is its zero value:
 * v1 serves what it has and v2 the rest, as for limits.
 */
import type { Cgroup } from "./manager.ts";
import {
  cpusetEntry,
  sortedObject,
  type Stats,
  type StatsReader,
  zeroMemory,
} from "./stats_format.ts";
import { V1Stats } from "./v1/stats.ts";
import { V2Stats } from "./v2/stats.ts";

export type { Stats } from "./stats_format.ts";

/** "hugepages-2048kB" to runc's page size name "2MB". */
export function pageSizeName(dirName: string): string | undefined {
  const m = /^hugepages-(\d+)kB$/.exec(dirName);
  if (!m) return undefined;
  let kb = Number(m[1]);
  for (const unit of ["KB", "MB", "GB"]) {
    if (kb < 1024 || unit === "GB") return `${kb}${unit}`;
    kb /= 1024;
  }
  return undefined;
}

/** Reads the stats of a container's cgroup; `pageSizes` are names like "2MB". */
export function collectStats(cg: Cgroup, pageSizes: readonly string[]): Stats {
  const readers: StatsReader[] = [new V1Stats(cg.io, cg.rec.v1)];
  if (cg.rec.v2 !== undefined) readers.push(new V2Stats(cg.io, cg.rec.v2));
  /** The first reader's answer for a section, else the section's zero value. */
  const first = <T>(section: (r: StatsReader) => T | undefined, zero: () => T): T => {
    for (const r of readers) {
      const value = section(r);
      if (value !== undefined) return value;
    }
    return zero();
  };
  return {
    cpu: {
      usage: first((r) => r.cpuUsage(), () => ({ kernel: 0n, user: 0n })),
      throttling: first((r) => r.cpuThrottling(), () => ({})),
    },
    cpuset: first((r) => r.cpuset(), () => cpusetEntry(() => undefined)),
    memory: first((r) => r.memory(), zeroMemory),
    pids: first((r) => r.pids(), () => ({})),
    blkio: first((r) => r.blkio(), () => ({})),
    hugetlb: sortedObject(Object.entries(first((r) => r.hugetlb(pageSizes), () => ({})))),
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** JSON text with bigints written as exact numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? `\u0000${v}\u0000` : v)
    .replace(/"\\u0000(-?\d+)\\u0000"/g, "$1");
}
