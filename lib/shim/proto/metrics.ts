/**
 * cgroups v1 metrics (package io.containerd.cgroups.v1, containerd/cgroups stats/v1 as
 * vendored by containerd v1.6.20): what the shim's Stats returns inside an Any. `ctr task
 * metrics` prints, for v1, memory usage/limit (memory.usage), memory.stat cache (totalCache),
 * cpuacct usage and per-cpu usage, and pids current/limit.
 */
import { message, msg, rep, str, u32, u64 } from "./fields.ts";
import type { Schema } from "./wire.ts";

const P = "io.containerd.cgroups.v1.";

/** The Any type URL of Metrics (its proto name, see events.ts on typeurl). */
export const METRICS_TYPE_URL = P + "Metrics";

export interface HugetlbStat {
  usage: bigint;
  max: bigint;
  failcnt: bigint;
  pagesize: string;
}
export const HugetlbStat: Schema<HugetlbStat> = message(P + "HugetlbStat", [
  u64(1, "usage"),
  u64(2, "max"),
  u64(3, "failcnt"),
  str(4, "pagesize"),
]);

export interface PidsStat {
  current: bigint;
  limit: bigint;
}
export const PidsStat: Schema<PidsStat> = message(P + "PidsStat", [
  u64(1, "current"),
  u64(2, "limit"),
]);

/** CPU usage in nanoseconds. */
export interface CPUUsage {
  total: bigint;
  kernel: bigint;
  user: bigint;
  perCpu: bigint[];
}
export const CPUUsage: Schema<CPUUsage> = message(P + "CPUUsage", [
  u64(1, "total"),
  u64(2, "kernel"),
  u64(3, "user"),
  rep(u64(4, "perCpu")),
]);

export interface Throttle {
  periods: bigint;
  throttledPeriods: bigint;
  throttledTime: bigint;
}
export const Throttle: Schema<Throttle> = message(P + "Throttle", [
  u64(1, "periods"),
  u64(2, "throttledPeriods"),
  u64(3, "throttledTime"),
]);

export interface CPUStat {
  usage?: CPUUsage | undefined;
  throttling?: Throttle | undefined;
}
export const CPUStat: Schema<CPUStat> = message(P + "CPUStat", [
  msg(1, "usage", () => CPUUsage),
  msg(2, "throttling", () => Throttle),
]);

export interface MemoryEntry {
  limit: bigint;
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}
export const MemoryEntry: Schema<MemoryEntry> = message(P + "MemoryEntry", [
  u64(1, "limit"),
  u64(2, "usage"),
  u64(3, "max"),
  u64(4, "failcnt"),
]);

/** memory.stat's counters (numbers 1-32, in file order) and the usage/swap/kernel entries. */
const MEMORY_STAT_COUNTERS = [
  "cache",
  "rss",
  "rssHuge",
  "mappedFile",
  "dirty",
  "writeback",
  "pgPgIn",
  "pgPgOut",
  "pgFault",
  "pgMajFault",
  "inactiveAnon",
  "activeAnon",
  "inactiveFile",
  "activeFile",
  "unevictable",
  "hierarchicalMemoryLimit",
  "hierarchicalSwapLimit",
  "totalCache",
  "totalRss",
  "totalRssHuge",
  "totalMappedFile",
  "totalDirty",
  "totalWriteback",
  "totalPgPgIn",
  "totalPgPgOut",
  "totalPgFault",
  "totalPgMajFault",
  "totalInactiveAnon",
  "totalActiveAnon",
  "totalInactiveFile",
  "totalActiveFile",
  "totalUnevictable",
] as const;

export type MemoryStat =
  & { [K in typeof MEMORY_STAT_COUNTERS[number]]: bigint }
  & {
    usage?: MemoryEntry | undefined;
    swap?: MemoryEntry | undefined;
    kernel?: MemoryEntry | undefined;
    kernelTcp?: MemoryEntry | undefined;
  };
export const MemoryStat: Schema<MemoryStat> = message(P + "MemoryStat", [
  ...MEMORY_STAT_COUNTERS.map((name, i) => u64(i + 1, name)),
  msg(33, "usage", () => MemoryEntry),
  msg(34, "swap", () => MemoryEntry),
  msg(35, "kernel", () => MemoryEntry),
  msg(36, "kernelTcp", () => MemoryEntry),
]);

export interface MemoryOomControl {
  oomKillDisable: bigint;
  underOom: bigint;
  oomKill: bigint;
}
export const MemoryOomControl: Schema<MemoryOomControl> = message(P + "MemoryOomControl", [
  u64(1, "oomKillDisable"),
  u64(2, "underOom"),
  u64(3, "oomKill"),
]);

export interface BlkIOEntry {
  op: string;
  device: string;
  major: bigint;
  minor: bigint;
  value: bigint;
}
export const BlkIOEntry: Schema<BlkIOEntry> = message(P + "BlkIOEntry", [
  str(1, "op"),
  str(2, "device"),
  u64(3, "major"),
  u64(4, "minor"),
  u64(5, "value"),
]);

export interface BlkIOStat {
  ioServiceBytesRecursive: BlkIOEntry[];
  ioServicedRecursive: BlkIOEntry[];
  ioQueuedRecursive: BlkIOEntry[];
  ioServiceTimeRecursive: BlkIOEntry[];
  ioWaitTimeRecursive: BlkIOEntry[];
  ioMergedRecursive: BlkIOEntry[];
  ioTimeRecursive: BlkIOEntry[];
  sectorsRecursive: BlkIOEntry[];
}
export const BlkIOStat: Schema<BlkIOStat> = message(
  P + "BlkIOStat",
  [
    "ioServiceBytesRecursive",
    "ioServicedRecursive",
    "ioQueuedRecursive",
    "ioServiceTimeRecursive",
    "ioWaitTimeRecursive",
    "ioMergedRecursive",
    "ioTimeRecursive",
    "sectorsRecursive",
  ].map((name, i) => rep(msg(i + 1, name, () => BlkIOEntry))),
);

export interface RdmaEntry {
  device: string;
  hcaHandles: number;
  hcaObjects: number;
}
export const RdmaEntry: Schema<RdmaEntry> = message(P + "RdmaEntry", [
  str(1, "device"),
  u32(2, "hcaHandles"),
  u32(3, "hcaObjects"),
]);

export interface RdmaStat {
  current: RdmaEntry[];
  limit: RdmaEntry[];
}
export const RdmaStat: Schema<RdmaStat> = message(P + "RdmaStat", [
  rep(msg(1, "current", () => RdmaEntry)),
  rep(msg(2, "limit", () => RdmaEntry)),
]);

export interface NetworkStat {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}
export const NetworkStat: Schema<NetworkStat> = message(P + "NetworkStat", [
  str(1, "name"),
  ...[
    "rxBytes",
    "rxPackets",
    "rxErrors",
    "rxDropped",
    "txBytes",
    "txPackets",
    "txErrors",
    "txDropped",
  ]
    .map((name, i) => u64(i + 2, name)),
]);

export interface CgroupStats {
  nrSleeping: bigint;
  nrRunning: bigint;
  nrStopped: bigint;
  nrUninterruptible: bigint;
  nrIoWait: bigint;
}
export const CgroupStats: Schema<CgroupStats> = message(P + "CgroupStats", [
  u64(1, "nrSleeping"),
  u64(2, "nrRunning"),
  u64(3, "nrStopped"),
  u64(4, "nrUninterruptible"),
  u64(5, "nrIoWait"),
]);

/** io.containerd.cgroups.v1.Metrics. */
export interface Metrics {
  hugetlb: HugetlbStat[];
  pids?: PidsStat | undefined;
  cpu?: CPUStat | undefined;
  memory?: MemoryStat | undefined;
  blkio?: BlkIOStat | undefined;
  rdma?: RdmaStat | undefined;
  network: NetworkStat[];
  cgroupStats?: CgroupStats | undefined;
  memoryOomControl?: MemoryOomControl | undefined;
}
export const Metrics: Schema<Metrics> = message(METRICS_TYPE_URL, [
  rep(msg(1, "hugetlb", () => HugetlbStat)),
  msg(2, "pids", () => PidsStat),
  msg(3, "cpu", () => CPUStat),
  msg(4, "memory", () => MemoryStat),
  msg(5, "blkio", () => BlkIOStat),
  msg(6, "rdma", () => RdmaStat),
  rep(msg(7, "network", () => NetworkStat)),
  msg(8, "cgroupStats", () => CgroupStats),
  msg(9, "memoryOomControl", () => MemoryOomControl),
]);
