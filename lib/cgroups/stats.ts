/**
 * Resource usage of a container's cgroup in the JSON shape `runc events` prints: runc 1.1's
 * types/events.go, field for field and in its order. Go's `omitempty` drops a zero number, an
 * empty string, list or map, but never a struct: `throttling`, `cpuset` and the four memory
 * entries are always there, even when all zero. Values come from the v1 controller files runc
 * reads, or from their cgroup v2 equivalents as runc's fs2 driver reads them. Counters stay
 * bigints: an unlimited v1 memory limit, or v2's "max" (2^64-1), does not fit a double.
 */
import type { Cgroup } from "./manager.ts";

type Num = bigint;
/** types.BlkioEntry: every field omitempty, so "8:0 Write 0" is {"major":8,"op":"Write"}. */
type BlkioEntry = { major?: Num; minor?: Num; op?: string; value?: Num };
/** types.MemoryEntry: limit and failcnt always, usage and max when not zero. */
type MemoryEntry = { limit: Num; usage?: Num; max?: Num; failcnt: Num };

/** The blkio lists in types.Blkio's order, each left out when empty. */
export const BLKIO_KEYS = [
  "ioServiceBytesRecursive",
  "ioServicedRecursive",
  "ioQueueRecursive",
  "ioServiceTimeRecursive",
  "ioWaitTimeRecursive",
  "ioMergedRecursive",
  "ioTimeRecursive",
  "sectorsRecursive",
] as const;
type BlkioKey = typeof BLKIO_KEYS[number];
type Blkio = { [K in BlkioKey]?: BlkioEntry[] };

/** runc's types.Stats. */
export interface Stats {
  cpu: { usage: Record<string, unknown>; throttling: Record<string, Num> };
  cpuset: Record<string, unknown>;
  memory: Record<string, unknown>;
  pids: Record<string, Num>;
  blkio: Blkio;
  hugetlb: Record<string, Record<string, Num>>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

const NS_PER_USEC = 1000n;
// USER_HZ, the unit of cpuacct.stat, is 100 on every Linux architecture denki runs on.
const NS_PER_TICK = 10_000_000n;
/** What runc's GetCgroupParamUint makes of "max". */
const MAX_UINT64 = (1n << 64n) - 1n;

/** A number file; "max" is 0 unless `max` says otherwise, garbage is 0. */
function num(text: string | undefined, max = 0n): Num {
  const t = (text ?? "").trim();
  if (t === "max") return max;
  return /^-?\d+$/.test(t) ? BigInt(t) : 0n;
}

/** "key value" lines (memory.stat, cpu.stat) as a map. */
export function keyValues(text: string | undefined): Map<string, Num> {
  const out = new Map<string, Num>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

/** A map as Go's encoding/json writes one: keys in byte order. */
function sortedObject<V>(entries: Iterable<[string, V]>): Record<string, V> {
  return Object.fromEntries([...entries].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
}

/** Drops zero numbers, empty strings, arrays and maps, as Go's omitempty does. */
function omitEmpty<T extends Record<string, unknown>>(o: T, keep: readonly string[] = []): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const empty = v === 0n || v === undefined || v === "" ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
    if (!empty || keep.includes(k)) out[k] = v;
  }
  return out as T;
}

/** One blkio entry with runc's omitempty fields. */
function blkioEntry(major: Num, minor: Num, op: string, value: Num): BlkioEntry {
  return omitEmpty({ major, minor, op, value });
}

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

function inBlkioOrder(b: Blkio): Blkio {
  const out: Blkio = {};
  for (const k of BLKIO_KEYS) if (b[k] !== undefined && b[k]!.length > 0) out[k] = b[k];
  return out;
}

/** v2 io.stat lines "8:0 rbytes=1 wbytes=2 rios=3 wios=4" as runc's blkio lists. */
export function ioStatEntries(text: string | undefined): Blkio {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const [devNum, ...pairs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(devNum ?? "");
    if (!m) continue;
    const major = BigInt(m[1]!);
    const minor = BigInt(m[2]!);
    for (const pair of pairs) {
      const [key, value] = pair.split("=");
      if (value === undefined || !/^\d+$/.test(value)) continue;
      const into = key === "rbytes" || key === "wbytes"
        ? bytes
        : key === "rios" || key === "wios"
        ? ios
        : undefined;
      const op = key === "rbytes" || key === "rios" ? "Read" : "Write";
      into?.push(blkioEntry(major, minor, op, BigInt(value)));
    }
  }
  return inBlkioOrder({ ioServiceBytesRecursive: bytes, ioServicedRecursive: ios });
}

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
  const io = cg.io;
  const v1 = cg.rec.v1;
  const v2 = cg.rec.v2;
  const read = (controller: string, v1File: string, v2File?: string) => {
    if (v1[controller] !== undefined) return io.read(`${v1[controller]}/${v1File}`);
    if (v2 !== undefined && v2File !== undefined) return io.read(`${v2}/${v2File}`);
    return undefined;
  };
  const stats: Stats = {
    cpu: cpuStats(cg),
    cpuset: cpusetStats(cg),
    memory: memoryStats(cg),
    pids: {},
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
  // Pids: "max" is no limit, which runc reports as 0 (left out).
  let current = num(read("pids", "pids.current", "pids.current"));
  if (v1.pids === undefined && v2 !== undefined && !io.exists(`${v2}/pids.current`)) {
    // No pids controller on v2: runc counts cgroup.procs instead.
    current = BigInt((io.read(`${v2}/cgroup.procs`) ?? "").split("\n").length - 1);
  }
  stats.pids = omitEmpty({ current, limit: num(read("pids", "pids.max", "pids.max")) });
  // Block I/O
  if (v1.blkio !== undefined) {
    stats.blkio = blkioV1((file) => io.read(`${v1.blkio}/${file}`));
  } else if (v2 !== undefined) {
    stats.blkio = ioStatEntries(io.read(`${v2}/io.stat`));
  }
  // Huge pages
  for (const size of pageSizes) {
    if (v1.hugetlb !== undefined) {
      const p = `${v1.hugetlb}/hugetlb.${size}`;
      if (!io.exists(`${p}.usage_in_bytes`)) continue;
      stats.hugetlb[size] = omitEmpty({
        usage: num(io.read(`${p}.usage_in_bytes`)),
        max: num(io.read(`${p}.max_usage_in_bytes`)),
        failcnt: num(io.read(`${p}.failcnt`)),
      }, ["failcnt"]);
    } else if (v2 !== undefined && io.exists(`${v2}/hugetlb.${size}.current`)) {
      stats.hugetlb[size] = omitEmpty({
        usage: num(io.read(`${v2}/hugetlb.${size}.current`)),
        failcnt: keyValues(io.read(`${v2}/hugetlb.${size}.events`)).get("max") ?? 0n,
      }, ["failcnt"]);
    }
  }
  stats.hugetlb = sortedObject(Object.entries(stats.hugetlb));
  return stats;
}

/** types.Cpu: usage (kernel and user always) and throttling (a struct: always there). */
function cpuStats(cg: Cgroup): Stats["cpu"] {
  const io = cg.io;
  const { v1, v2 } = cg.rec;
  let usage: Record<string, unknown> = { kernel: 0n, user: 0n };
  if (v1.cpuacct !== undefined) {
    const d = v1.cpuacct;
    const percpu = (io.read(`${d}/cpuacct.usage_percpu`) ?? "").trim().split(/\s+/)
      .filter((x) => /^\d+$/.test(x)).map(BigInt);
    const all = (io.read(`${d}/cpuacct.usage_all`) ?? "").split("\n").slice(1)
      .map((l) => l.trim().split(/\s+/)).filter((f) =>
        f.length === 3 && f.every((x) => /^\d+$/.test(x))
      );
    const ticks = keyValues(io.read(`${d}/cpuacct.stat`));
    usage = omitEmpty({
      total: num(io.read(`${d}/cpuacct.usage`)),
      percpu,
      percpu_kernel: all.map((f) => BigInt(f[2]!)),
      percpu_user: all.map((f) => BigInt(f[1]!)),
      kernel: (ticks.get("system") ?? 0n) * NS_PER_TICK,
      user: (ticks.get("user") ?? 0n) * NS_PER_TICK,
    }, ["kernel", "user"]);
  } else if (v2 !== undefined) {
    const s = keyValues(io.read(`${v2}/cpu.stat`));
    usage = omitEmpty({
      total: (s.get("usage_usec") ?? 0n) * NS_PER_USEC,
      kernel: (s.get("system_usec") ?? 0n) * NS_PER_USEC,
      user: (s.get("user_usec") ?? 0n) * NS_PER_USEC,
    }, ["kernel", "user"]);
  }
  const dir = v1.cpu ?? (v1.cpuacct === undefined ? v2 : undefined);
  const s = keyValues(dir === undefined ? undefined : io.read(`${dir}/cpu.stat`));
  const throttling = omitEmpty({
    periods: s.get("nr_periods") ?? 0n,
    throttledPeriods: s.get("nr_throttled") ?? 0n,
    throttledTime: s.get("throttled_time") ?? (s.get("throttled_usec") ?? 0n) * NS_PER_USEC,
  });
  return { usage, throttling };
}

/** "0-2,4" as [0, 1, 2, 4]. */
export function parseCpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? "").trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.push(i);
  }
  return out;
}

/**
 * types.CPUSet: read from the v1 cpuset controller; runc reads nothing of it on v2, where it
 * is the struct of zeros (its two lists left out).
 */
function cpusetStats(cg: Cgroup): Record<string, unknown> {
  const d = cg.rec.v1.cpuset;
  const file = (f: string) => d === undefined ? undefined : cg.io.read(`${d}/cpuset.${f}`);
  const flag = (f: string) => num(file(f));
  return omitEmpty({
    cpus: parseCpuList(file("cpus")),
    cpu_exclusive: flag("cpu_exclusive"),
    mems: parseCpuList(file("mems")),
    mem_hardwall: flag("mem_hardwall"),
    mem_exclusive: flag("mem_exclusive"),
    memory_migrate: flag("memory_migrate"),
    memory_spread_page: flag("memory_spread_page"),
    memory_spread_slab: flag("memory_spread_slab"),
    memory_pressure: flag("memory_pressure"),
    sched_load_balance: flag("sched_load_balance"),
    sched_relax_domain_level: flag("sched_relax_domain_level"),
  }, [
    "cpu_exclusive",
    "mem_hardwall",
    "mem_exclusive",
    "memory_migrate",
    "memory_spread_page",
    "memory_spread_slab",
    "memory_pressure",
    "sched_load_balance",
    "sched_relax_domain_level",
  ]);
}

const entry = (limit: Num, usage: Num, max: Num, failcnt: Num): MemoryEntry =>
  omitEmpty({ limit, usage, max, failcnt }, ["limit", "failcnt"]);

/**
 * types.Memory. v1: runc's fs/memory.go (cache is memory.stat's "cache"; memsw and kmem
 * entries are zero where the kernel has no such files). v2: fs2/memory.go, where "max" is
 * 2^64-1, swap is reported as memory+swap like v1's memsw, failcnt is never read, and there
 * is no kernel memory. memory.peak fills usage.max where the kernel has it, as newer runc does.
 */
function memoryStats(cg: Cgroup): Record<string, unknown> {
  const io = cg.io;
  const { v1, v2 } = cg.rec;
  const zero = entry(0n, 0n, 0n, 0n);
  if (v1.memory !== undefined) {
    const d = v1.memory;
    const read = (f: string) => io.read(`${d}/${f}`);
    const data = (prefix: string): MemoryEntry =>
      read(`${prefix}usage_in_bytes`) === undefined && prefix !== "memory." ? zero : entry(
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
  if (v2 === undefined || !io.exists(`${v2}/memory.stat`)) {
    return { usage: zero, swap: zero, kernel: zero, kernelTCP: zero };
  }
  const read = (f: string) => io.read(`${v2}/${f}`);
  const raw = keyValues(read("memory.stat"));
  const limit = num(read("memory.max"), MAX_UINT64);
  const usage = num(read("memory.current"));
  const swapPresent = read("memory.swap.current") !== undefined;
  const swapLimit = swapPresent ? num(read("memory.swap.max"), MAX_UINT64) : 0n;
  const swapUsage = swapPresent ? num(read("memory.swap.current")) : 0n;
  // Go's uint64 arithmetic: "max" plus a limit wraps as it does in runc.
  const wrap = (n: Num) => n & MAX_UINT64;
  return omitEmpty({
    cache: raw.get("file") ?? 0n,
    usage: entry(limit, usage, num(read("memory.peak")), 0n),
    swap: entry(
      swapLimit === MAX_UINT64 ? swapLimit : wrap(swapLimit + limit),
      wrap(swapUsage + usage),
      0n,
      0n,
    ),
    kernel: zero,
    kernelTCP: zero,
    raw: sortedObject(raw),
  }, ["usage", "swap", "kernel", "kernelTCP"]);
}

/** JSON text with bigints written as exact numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? `\u0000${v}\u0000` : v)
    .replace(/"\\u0000(-?\d+)\\u0000"/g, "$1");
}
