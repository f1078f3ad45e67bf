/**
 * Stats from a container's cgroup v2 directory, as runc's fs2 driver reads them, in the same
 * shape as v1's: cpu.stat in microseconds, memory "max" as 2^64-1 and swap counted with
 * memory like v1's memsw, io.stat as blkio lists. It answers every section (zero where the
 * files are missing); on a hybrid host it is asked only for what v1 lacks.
 */
import type { CgroupIo } from "../io.ts";
import {
  type Blkio,
  type BlkioEntry,
  blkioEntry,
  inBlkioOrder,
  keyValues,
  MAX_UINT64,
  memoryEntry,
  NS_PER_USEC,
  type Num,
  num,
  omitEmpty,
  sortedObject,
  type StatsReader,
  throttling,
  zeroMemory,
} from "../stats_format.ts";

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

/** The stats of a container's v2 directory. */
export class V2Stats implements StatsReader {
  constructor(readonly io: CgroupIo, readonly dir: string) {}

  #read(file: string): string | undefined {
    return this.io.read(`${this.dir}/${file}`);
  }

  cpuUsage(): Record<string, unknown> {
    const s = keyValues(this.#read("cpu.stat"));
    return omitEmpty({
      total: (s.get("usage_usec") ?? 0n) * NS_PER_USEC,
      kernel: (s.get("system_usec") ?? 0n) * NS_PER_USEC,
      user: (s.get("user_usec") ?? 0n) * NS_PER_USEC,
    }, ["kernel", "user"]);
  }

  cpuThrottling(): Record<string, Num> {
    return throttling(this.#read("cpu.stat"));
  }

  /** runc reads nothing of the cpuset on v2: left to the struct of zeros. */
  cpuset(): undefined {
    return undefined;
  }

  /**
   * runc's fs2/memory.go: "max" is 2^64-1, swap is reported as memory+swap like v1's memsw,
   * failcnt is never read, and there is no kernel memory. memory.peak fills usage.max where
   * the kernel has it, as newer runc does.
   */
  memory(): Record<string, unknown> {
    if (!this.io.exists(`${this.dir}/memory.stat`)) return zeroMemory();
    const read = (f: string) => this.#read(f);
    const zero = memoryEntry(0n, 0n, 0n, 0n);
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
      usage: memoryEntry(limit, usage, num(read("memory.peak")), 0n),
      swap: memoryEntry(
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

  /** "max" is no limit (0, left out); without a pids controller runc counts cgroup.procs. */
  pids(): Record<string, Num> {
    let current = num(this.#read("pids.current"));
    if (!this.io.exists(`${this.dir}/pids.current`)) {
      current = BigInt((this.#read("cgroup.procs") ?? "").split("\n").length - 1);
    }
    return omitEmpty({ current, limit: num(this.#read("pids.max")) });
  }

  blkio(): Blkio {
    return ioStatEntries(this.#read("io.stat"));
  }

  /** Sizes without a .current file are left out. */
  hugetlb(pageSizes: readonly string[]): Record<string, Record<string, Num>> {
    const out: Record<string, Record<string, Num>> = {};
    for (const size of pageSizes) {
      if (!this.io.exists(`${this.dir}/hugetlb.${size}.current`)) continue;
      out[size] = omitEmpty({
        usage: num(this.#read(`hugetlb.${size}.current`)),
        failcnt: keyValues(this.#read(`hugetlb.${size}.events`)).get("max") ?? 0n,
      }, ["failcnt"]);
    }
    return out;
  }
}
