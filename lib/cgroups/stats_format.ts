/**
 * The shape `runc events --stats` prints (runc 1.1's types/events.go, field for field and in
 * its order) and the helpers both versions' readers (v1/stats.ts, v2/stats.ts) fill it with.
 * Go's `omitempty` drops a zero number, an empty string, list or map, but never a struct.
 * Counters stay bigints: an unlimited v1 memory limit, or v2's "max" (2^64-1), does not fit a
 * double.
 */

/** A counter. */
export type Num = bigint;
/** types.BlkioEntry: every field omitempty, so "8:0 Write 0" is {"major":8,"op":"Write"}. */
export type BlkioEntry = { major?: Num; minor?: Num; op?: string; value?: Num };
/** types.MemoryEntry: limit and failcnt always, usage and max when not zero. */
export type MemoryEntry = { limit: Num; usage?: Num; max?: Num; failcnt: Num };

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
export type BlkioKey = typeof BLKIO_KEYS[number];
export type Blkio = { [K in BlkioKey]?: BlkioEntry[] };

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

/**
 * One cgroup version's reading of a container's stats, a section at a time. Each answers
 * undefined for a section whose controller it does not have, so another version (or the
 * section's zero value) can answer instead.
 */
export interface StatsReader {
  /** types.CpuUsage. */
  cpuUsage(): Record<string, unknown> | undefined;
  /** types.ThrottlingData. */
  cpuThrottling(): Record<string, Num> | undefined;
  /** types.CPUSet. */
  cpuset(): Record<string, unknown> | undefined;
  /** types.Memory. */
  memory(): Record<string, unknown> | undefined;
  /** types.Pids. */
  pids(): Record<string, Num> | undefined;
  /** types.Blkio. */
  blkio(): Blkio | undefined;
  /** types.HugetlbStats by page size name ("2MB"), for the sizes the host has. */
  hugetlb(pageSizes: readonly string[]): Record<string, Record<string, Num>> | undefined;
}

export const NS_PER_USEC = 1000n;
/** What runc's GetCgroupParamUint makes of "max". */
export const MAX_UINT64 = (1n << 64n) - 1n;

/** A number file; "max" is 0 unless `max` says otherwise, garbage is 0. */
export function num(text: string | undefined, max = 0n): Num {
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
export function sortedObject<V>(entries: Iterable<[string, V]>): Record<string, V> {
  return Object.fromEntries([...entries].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
}

/** Drops zero numbers, empty strings, arrays and maps, as Go's omitempty does. */
export function omitEmpty<T extends Record<string, unknown>>(
  o: T,
  keep: readonly string[] = [],
): T {
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
export function blkioEntry(major: Num, minor: Num, op: string, value: Num): BlkioEntry {
  return omitEmpty({ major, minor, op, value });
}

/** A Blkio with its lists in types.Blkio's order, empty ones left out. */
export function inBlkioOrder(b: Blkio): Blkio {
  const out: Blkio = {};
  for (const k of BLKIO_KEYS) if (b[k] !== undefined && b[k]!.length > 0) out[k] = b[k];
  return out;
}

/** A types.MemoryEntry. */
export const memoryEntry = (limit: Num, usage: Num, max: Num, failcnt: Num): MemoryEntry =>
  omitEmpty({ limit, usage, max, failcnt }, ["limit", "failcnt"]);

/** types.Memory where nothing is known: the four entries (structs: always there), zero. */
export function zeroMemory(): Record<string, unknown> {
  const zero = memoryEntry(0n, 0n, 0n, 0n);
  return { usage: zero, swap: zero, kernel: zero, kernelTCP: zero };
}

/** types.ThrottlingData from a cpu.stat (v1's throttled_time, v2's throttled_usec). */
export function throttling(cpuStat: string | undefined): Record<string, Num> {
  const s = keyValues(cpuStat);
  return omitEmpty({
    periods: s.get("nr_periods") ?? 0n,
    throttledPeriods: s.get("nr_throttled") ?? 0n,
    throttledTime: s.get("throttled_time") ?? (s.get("throttled_usec") ?? 0n) * NS_PER_USEC,
  });
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
 * types.CPUSet from a reader of the v1 cpuset files ("cpus" for cpuset.cpus); reading
 * nothing gives the struct of zeros, its two lists left out.
 */
export function cpusetEntry(file: (name: string) => string | undefined): Record<string, unknown> {
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
