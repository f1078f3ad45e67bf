/**
 * Stats from the cgroup v1 controllers, as runc's fs driver reads them (fs/cpuacct.go,
 * fs/cpu.go, fs/cpuset.go, fs/memory.go, fs/pids.go, fs/blkio.go, fs/hugetlb.go). A section
 * whose controller the container has no directory for is left to the v2 reader.
 */
import type { CgroupIo } from "../io.ts";
import {
  type Blkio,
  type BlkioEntry,
  blkioEntry,
  type BlkioKey,
  cpusetEntry,
  inBlkioOrder,
  keyValues,
  type MemoryEntry,
  memoryEntry,
  type Num,
  num,
  omitEmpty,
  sortedObject,
  type StatsReader,
  throttling,
} from "../stats_format.ts";

// USER_HZ, the unit of cpuacct.stat, is 100 on every Linux architecture denki runs on.
const NS_PER_TICK = 10_000_000n;

/**
 * v1 blkio lines as runc reads them: "8:0 Read 4096" (or "8:0 4096" in files without an op),
 * split on spaces and colons; the closing "Total N" line is skipped, and so is any line
 * runc would call malformed. Undefined when the file is missing or has no entries.
 */
export function blkioEntries(text: string | undefined): BlkioEntry[] | undefined {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.split(/[ :]/).filter((x) => x !== "");
    if (f.length < 3 || !f.every((x, i) => i === 2 && f.length === 4 || /^\d+$/.test(x))) {
      continue;
    }
    const op = f.length === 4 ? f[2]! : "";
    out.push(blkioEntry(BigInt(f[0]!), BigInt(f[1]!), op, BigInt(f[f.length === 4 ? 3 : 2]!)));
  }
  return out.length === 0 ? undefined : out;
}

/**
 * The v1 blkio files, in runc's order of preference (fs/blkio.go GetStats): BFQ's debug
 * files, BFQ's, CFQ's, then the throttle files (recursive, then not). A group whose first
 * file is missing or empty gives way to the next; within a group, a missing file ends the
 * search with what was found so far.
 */
const BLKIO_V1_GROUPS: readonly (readonly [string, BlkioKey][])[] = [
  [
    ["blkio.bfq.sectors_recursive", "sectorsRecursive"],
    ["blkio.bfq.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.bfq.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.bfq.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.bfq.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.bfq.time_recursive", "ioTimeRecursive"],
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.sectors_recursive", "sectorsRecursive"],
    ["blkio.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.time_recursive", "ioTimeRecursive"],
    ["blkio.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes", "ioServiceBytesRecursive"],
  ],
];

/** The blkio stats of a v1 blkio cgroup directory, read through `read`. */
export function blkioV1(read: (file: string) => string | undefined): Blkio {
  const found: Blkio = {};
  groups: for (const group of BLKIO_V1_GROUPS) {
    for (const [i, [file, key]] of group.entries()) {
      const entries = blkioEntries(read(file));
      if (entries === undefined) {
        if (i === 0) continue groups;
        break groups;
      }
      found[key] = entries;
      if (i === group.length - 1) break groups;
    }
  }
  return inBlkioOrder(found);
}

/** The stats of a container's v1 directories (`rec.v1`: controller to directory). */
export class V1Stats implements StatsReader {
  constructor(readonly io: CgroupIo, readonly dirs: Readonly<Record<string, string>>) {}

  #dir(controller: string): string | undefined {
    return Object.hasOwn(this.dirs, controller) ? this.dirs[controller] : undefined;
  }

  /** From cpuacct: total and per-CPU nanoseconds, user and system ticks. */
  cpuUsage(): Record<string, unknown> | undefined {
    const d = this.#dir("cpuacct");
    if (d === undefined) return undefined;
    const io = this.io;
    const percpu = (io.read(`${d}/cpuacct.usage_percpu`) ?? "").trim().split(/\s+/)
      .filter((x) => /^\d+$/.test(x)).map(BigInt);
    const all = (io.read(`${d}/cpuacct.usage_all`) ?? "").split("\n").slice(1)
      .map((l) => l.trim().split(/\s+/)).filter((f) =>
        f.length === 3 && f.every((x) => /^\d+$/.test(x))
      );
    const ticks = keyValues(io.read(`${d}/cpuacct.stat`));
    return omitEmpty({
      total: num(io.read(`${d}/cpuacct.usage`)),
      percpu,
      percpu_kernel: all.map((f) => BigInt(f[2]!)),
      percpu_user: all.map((f) => BigInt(f[1]!)),
      kernel: (ticks.get("system") ?? 0n) * NS_PER_TICK,
      user: (ticks.get("user") ?? 0n) * NS_PER_TICK,
    }, ["kernel", "user"]);
  }

  /**
   * From the cpu controller's cpu.stat. With cpuacct but no cpu hierarchy the cpu numbers
   * are v1's, so none come from v2: zero.
   */
  cpuThrottling(): Record<string, Num> | undefined {
    const d = this.#dir("cpu");
    if (d !== undefined) return throttling(this.io.read(`${d}/cpu.stat`));
    return this.#dir("cpuacct") === undefined ? undefined : throttling(undefined);
  }

  cpuset(): Record<string, unknown> | undefined {
    const d = this.#dir("cpuset");
    if (d === undefined) return undefined;
    return cpusetEntry((f) => this.io.read(`${d}/cpuset.${f}`));
  }

  /**
   * runc's fs/memory.go: cache is memory.stat's "cache"; memsw and kmem entries are zero
   * where the kernel has no such files.
   */
  memory(): Record<string, unknown> | undefined {
    const d = this.#dir("memory");
    if (d === undefined) return undefined;
    const zero = memoryEntry(0n, 0n, 0n, 0n);
    const read = (f: string) => this.io.read(`${d}/${f}`);
    const data = (prefix: string): MemoryEntry =>
      read(`${prefix}usage_in_bytes`) === undefined && prefix !== "memory." ? zero : memoryEntry(
        num(read(`${prefix}limit_in_bytes`)),
        num(read(`${prefix}usage_in_bytes`)),
        num(read(`${prefix}max_usage_in_bytes`)),
        num(read(`${prefix}failcnt`)),
      );
    const raw = keyValues(read("memory.stat"));
    return omitEmpty({
      cache: raw.get("cache") ?? 0n,
      usage: data("memory."),
      swap: data("memory.memsw."),
      kernel: data("memory.kmem."),
      kernelTCP: data("memory.kmem.tcp."),
      raw: sortedObject(raw),
    }, ["usage", "swap", "kernel", "kernelTCP"]);
  }

  /** "max" is no limit, which runc reports as 0 (left out). */
  pids(): Record<string, Num> | undefined {
    const d = this.#dir("pids");
    if (d === undefined) return undefined;
    return omitEmpty({
      current: num(this.io.read(`${d}/pids.current`)),
      limit: num(this.io.read(`${d}/pids.max`)),
    });
  }

  blkio(): Blkio | undefined {
    const d = this.#dir("blkio");
    return d === undefined ? undefined : blkioV1((file) => this.io.read(`${d}/${file}`));
  }

  /** Sizes without a usage file are left out. */
  hugetlb(pageSizes: readonly string[]): Record<string, Record<string, Num>> | undefined {
    const d = this.#dir("hugetlb");
    if (d === undefined) return undefined;
    const out: Record<string, Record<string, Num>> = {};
    for (const size of pageSizes) {
      const p = `${d}/hugetlb.${size}`;
      if (!this.io.exists(`${p}.usage_in_bytes`)) continue;
      out[size] = omitEmpty({
        usage: num(this.io.read(`${p}.usage_in_bytes`)),
        max: num(this.io.read(`${p}.max_usage_in_bytes`)),
        failcnt: num(this.io.read(`${p}.failcnt`)),
      }, ["failcnt"]);
    }
    return out;
  }
}
