/**
 * Stats for containerd: denki reads a container's cgroup into runc's types.Stats (what
 * `events --stats` prints); containerd wants cgroups v1 Metrics inside an Any, which `ctr task
 * metrics` and the CRI plugin decode. This maps one onto the other.
 */
import type { Stats } from "../cgroups/stats.ts";
import type { BlkioEntry } from "../cgroups/stats_format.ts";
import {
  type Any,
  type BlkIOEntry,
  type MemoryEntry,
  Metrics,
  METRICS_TYPE_URL,
  toAny,
} from "./proto/messages.ts";
import type { MessageInit } from "./proto/wire.ts";

type Rec = Record<string, unknown>;

const big = (v: unknown): bigint => (typeof v === "bigint" ? v : 0n);
const bigs = (v: unknown): bigint[] => (Array.isArray(v) ? v.map(big) : []);

function entry(v: unknown): MessageInit<MemoryEntry> | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const e = v as Rec;
  return { limit: big(e.limit), usage: big(e.usage), max: big(e.max), failcnt: big(e.failcnt) };
}

function blkio(list: BlkioEntry[] | undefined): MessageInit<BlkIOEntry>[] {
  return (list ?? []).map((e) => ({
    op: e.op ?? "",
    major: e.major ?? 0n,
    minor: e.minor ?? 0n,
    value: e.value ?? 0n,
  }));
}

/** memory.stat's keys whose Metrics field name is not simply their camelCase. */
const RENAMED: Record<string, string> = {
  pgpgin: "pgPgIn",
  pgpgout: "pgPgOut",
  pgfault: "pgFault",
  pgmajfault: "pgMajFault",
  hierarchical_memsw_limit: "hierarchicalSwapLimit",
};

/** memory.stat's counters under the Metrics field names (total_x becomes totalX). */
function memoryCounters(raw: Record<string, bigint>): Record<string, bigint> {
  const camel = (k: string) =>
    RENAMED[k] ?? k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const out: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(raw)) {
    const name = k.startsWith("total_") ? camel(k.slice(6)) : camel(k);
    out[k.startsWith("total_") ? `total${name[0]!.toUpperCase()}${name.slice(1)}` : name] = v;
  }
  return out;
}

/** The Any that answers Stats for `stats`. */
export function metricsOf(stats: Stats): Any {
  const mem = stats.memory as Rec;
  const usage = stats.cpu.usage;
  const t = stats.cpu.throttling;
  const metrics: MessageInit<Metrics> = {
    pids: { current: big(stats.pids.current), limit: big(stats.pids.limit) },
    cpu: {
      usage: {
        total: big(usage.total),
        kernel: big(usage.kernel),
        user: big(usage.user),
        perCpu: bigs(usage.percpu),
      },
      throttling: {
        periods: big(t.periods),
        throttledPeriods: big(t.throttledPeriods),
        throttledTime: big(t.throttledTime),
      },
    },
    memory: {
      ...memoryCounters((mem.raw ?? {}) as Record<string, bigint>),
      cache: big(mem.cache),
      usage: entry(mem.usage),
      swap: entry(mem.swap),
      kernel: entry(mem.kernel),
      kernelTcp: entry(mem.kernelTCP),
    },
    blkio: {
      ioServiceBytesRecursive: blkio(stats.blkio.ioServiceBytesRecursive),
      ioServicedRecursive: blkio(stats.blkio.ioServicedRecursive),
      ioQueuedRecursive: blkio(stats.blkio.ioQueueRecursive),
      ioServiceTimeRecursive: blkio(stats.blkio.ioServiceTimeRecursive),
      ioWaitTimeRecursive: blkio(stats.blkio.ioWaitTimeRecursive),
      ioMergedRecursive: blkio(stats.blkio.ioMergedRecursive),
      ioTimeRecursive: blkio(stats.blkio.ioTimeRecursive),
      sectorsRecursive: blkio(stats.blkio.sectorsRecursive),
    },
    hugetlb: Object.entries(stats.hugetlb).map(([pagesize, h]) => ({
      pagesize,
      usage: big(h.usage),
      max: big(h.max),
      failcnt: big(h.failcnt),
    })),
  };
  return toAny(METRICS_TYPE_URL, Metrics, metrics);
}
