/**
 * Resource usage of a container's cgroup in the shape `runc events` prints (its types.Stats),
 * read from v1 controller files or from their cgroup v2 equivalents. Counters stay bigints:
 * an unlimited v1 memory limit does not fit a double.
 */
import type { Cgroup } from "./manager.ts";

type Num = bigint;
type Entry = { major: Num; minor: Num; op: string; value: Num };
type MemoryEntry = { limit: Num; usage?: Num; max?: Num; failcnt: Num };

/** runc's stats object; fields runc marks omitempty are left out when zero or empty. */
export interface Stats {
  cpu: Record<string, unknown>;
  /** Left out of the JSON when undefined. */
  cpuset: Record<string, unknown> | undefined;
  memory: Record<string, unknown>;
  pids: Record<string, Num>;
  blkio: Record<string, Entry[]>;
  hugetlb: Record<string, Record<string, Num>>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

const NS_PER_USEC = 1000n;
// USER_HZ, the unit of cpuacct.stat, is 100 on every Linux architecture denki runs on.
const NS_PER_TICK = 10_000_000n;

function num(text: string | undefined): Num {
  const t = (text ?? "").trim();
  if (t === "" || t === "max") return 0n;
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

/** Drops zero numbers, empty arrays and empty objects, as Go's omitempty does. */
function omitEmpty<T extends Record<string, unknown>>(o: T, keep: readonly string[] = []): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const empty = v === 0n || v === undefined ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
    if (!empty || keep.includes(k)) out[k] = v;
  }
  return out as T;
}

/** v1 blkio lines "8:0 Read 4096" as entries. */
export function blkioEntries(text: string | undefined): Entry[] {
  const out: Entry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m) {
      out.push({ major: BigInt(m[1]!), minor: BigInt(m[2]!), op: m[3]!, value: BigInt(m[4]!) });
    }
  }
  return out;
}

/** v2 io.stat lines "8:0 rbytes=1 wbytes=2 rios=3 wios=4" as runc's blkio entries. */
export function ioStatEntries(text: string | undefined): Record<string, Entry[]> {
  const bytes: Entry[] = [];
  const ios: Entry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const [devNum, ...pairs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(devNum ?? "");
    if (!m) continue;
    const kv = new Map(pairs.map((p) => p.split("=") as [string, string]));
    const major = BigInt(m[1]!);
    const minor = BigInt(m[2]!);
    for (
      const [key, op, list] of [["rbytes", "Read", bytes], ["wbytes", "Write", bytes], [
        "rios",
        "Read",
        ios,
      ], ["wios", "Write", ios]] as const
    ) {
      if (kv.has(key)) list.push({ major, minor, op, value: num(kv.get(key)) });
    }
  }
  return omitEmpty({ ioServiceBytesRecursive: bytes, ioServicedRecursive: ios });
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
    cpu: {},
    cpuset: undefined,
    memory: {},
    pids: {},
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
  // CPU
  if (v1.cpuacct !== undefined) {
    const d = v1.cpuacct;
    const percpu = (io.read(`${d}/cpuacct.usage_percpu`) ?? "").trim().split(/\s+/).filter((x) =>
      x !== ""
    ).map(BigInt);
    const all = (io.read(`${d}/cpuacct.usage_all`) ?? "").split("\n").slice(1)
      .map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 3);
    const ticks = keyValues(io.read(`${d}/cpuacct.stat`));
    stats.cpu.usage = omitEmpty({
      total: num(io.read(`${d}/cpuacct.usage`)),
      percpu,
      percpu_kernel: all.map((f) => BigInt(f[2]!)),
      percpu_user: all.map((f) => BigInt(f[1]!)),
      kernel: (ticks.get("system") ?? 0n) * NS_PER_TICK,
      user: (ticks.get("user") ?? 0n) * NS_PER_TICK,
    }, ["kernel", "user"]);
  } else if (v2 !== undefined) {
    const s = keyValues(io.read(`${v2}/cpu.stat`));
    stats.cpu.usage = omitEmpty({
      total: (s.get("usage_usec") ?? 0n) * NS_PER_USEC,
      kernel: (s.get("system_usec") ?? 0n) * NS_PER_USEC,
      user: (s.get("user_usec") ?? 0n) * NS_PER_USEC,
    }, ["kernel", "user"]);
  }
  const cpuStat = keyValues(read("cpu", "cpu.stat", "cpu.stat"));
  stats.cpu.throttling = omitEmpty({
    periods: cpuStat.get("nr_periods") ?? 0n,
    throttled_periods: cpuStat.get("nr_throttled") ?? 0n,
    throttled_time: cpuStat.get("throttled_time") ??
      (cpuStat.get("throttled_usec") ?? 0n) * NS_PER_USEC,
  });
  stats.cpuset = cpusetStats(cg);
  // Memory
  if (v1.memory !== undefined) {
    const d = v1.memory;
    const entry = (prefix: string): MemoryEntry =>
      omitEmpty({
        limit: num(io.read(`${d}/${prefix}limit_in_bytes`)),
        usage: num(io.read(`${d}/${prefix}usage_in_bytes`)),
        max: num(io.read(`${d}/${prefix}max_usage_in_bytes`)),
        failcnt: num(io.read(`${d}/${prefix}failcnt`)),
      }, ["limit", "failcnt"]);
    const raw = keyValues(io.read(`${d}/memory.stat`));
    stats.memory = omitEmpty({
      cache: raw.get("total_cache") ?? raw.get("cache") ?? 0n,
      usage: entry("memory."),
      swap: entry("memory.memsw."),
      kernel: entry("memory.kmem."),
      kernelTCP: entry("memory.kmem.tcp."),
      raw: Object.fromEntries(raw),
    });
  } else if (v2 !== undefined) {
    const raw = keyValues(io.read(`${v2}/memory.stat`));
    const events = keyValues(io.read(`${v2}/memory.events`));
    stats.memory = omitEmpty({
      cache: raw.get("file") ?? 0n,
      usage: omitEmpty({
        limit: num(io.read(`${v2}/memory.max`)),
        usage: num(io.read(`${v2}/memory.current`)),
        max: num(io.read(`${v2}/memory.peak`)),
        failcnt: events.get("max") ?? 0n,
      }, ["limit", "failcnt"]),
      swap: omitEmpty({
        limit: num(io.read(`${v2}/memory.swap.max`)),
        usage: num(io.read(`${v2}/memory.swap.current`)),
        failcnt: 0n,
      }, ["limit", "failcnt"]),
      raw: Object.fromEntries(raw),
    });
  }
  // Pids
  stats.pids = omitEmpty({
    current: num(read("pids", "pids.current", "pids.current")),
    limit: num(read("pids", "pids.max", "pids.max")),
  });
  // Block I/O
  if (v1.blkio !== undefined) {
    stats.blkio = omitEmpty({
      ioServiceBytesRecursive: blkioEntries(
        io.read(`${v1.blkio}/blkio.throttle.io_service_bytes_recursive`),
      ),
      ioServicedRecursive: blkioEntries(
        io.read(`${v1.blkio}/blkio.throttle.io_serviced_recursive`),
      ),
    });
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
  return stats;
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

/** The cpuset part of the stats (runc reports it for v1, and cpus/mems for v2). */
function cpusetStats(cg: Cgroup): Record<string, unknown> | undefined {
  const d = cg.rec.v1.cpuset;
  if (d !== undefined) {
    const flag = (f: string) => num(cg.io.read(`${d}/cpuset.${f}`));
    return {
      cpus: parseCpuList(cg.io.read(`${d}/cpuset.cpus`)),
      cpu_exclusive: flag("cpu_exclusive"),
      mems: parseCpuList(cg.io.read(`${d}/cpuset.mems`)),
      mem_hardwall: flag("mem_hardwall"),
      mem_exclusive: flag("mem_exclusive"),
      memory_migrate: flag("memory_migrate"),
      memory_spread_page: flag("memory_spread_page"),
      memory_spread_slab: flag("memory_spread_slab"),
      memory_pressure: flag("memory_pressure"),
      sched_load_balance: flag("sched_load_balance"),
      sched_relax_domain_level: flag("sched_relax_domain_level"),
    };
  }
  const v2 = cg.rec.v2;
  if (v2 === undefined || !cg.io.exists(`${v2}/cpuset.cpus.effective`)) return undefined;
  return {
    cpus: parseCpuList(cg.io.read(`${v2}/cpuset.cpus.effective`)),
    mems: parseCpuList(cg.io.read(`${v2}/cpuset.mems.effective`)),
  };
}

/** JSON text with bigints written as exact numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? `\u0000${v}\u0000` : v)
    .replace(/"\\u0000(-?\d+)\\u0000"/g, "$1");
}
