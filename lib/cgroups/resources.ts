/**
 * `linux.resources` as cgroupfs writes, for v1 controllers and for cgroup v2. Pure: the
 * managers decide where each write goes and carry it out. Values are written as the kernel
 * reads them; conversions between the v1 numbers of the OCI spec and v2's scales follow the
 * formulas runc and crun use, so the same config means the same limits under every runtime.
 */
import { DenkiError, quote } from "../errors.ts";
import type { Int64 } from "../spec/schema.ts";
import type { Resources } from "../spec/config.ts";
import { deviceRules, v1DeviceLine } from "./devices.ts";

/** One write: a controller's file (the first of several names that exists) and a value. */
export interface Write {
  controller: string;
  /** Candidate file names, first existing one wins (e.g. blkio.bfq.weight, blkio.weight). */
  files: readonly string[];
  value: string;
  /** Where in the config the value came from, for messages. */
  field: string;
  /** Skipped with a warning (not an error) when the kernel lacks the file or refuses it. */
  optional?: boolean;
}

const w = (
  controller: string,
  file: string | readonly string[],
  value: Int64 | string,
  field: string,
  optional = false,
): Write => ({
  controller,
  files: typeof file === "string" ? [file] : file,
  value: String(value),
  field,
  ...(optional ? { optional } : {}),
});

const big = (v: Int64) => BigInt(v);
const dev = (d: { major: Int64; minor: Int64 }) => `${d.major}:${d.minor}`;

/** The writes for cgroup v1 controllers, in the order they must happen. */
export function v1Writes(r: Resources): Write[] {
  const out: Write[] = [];
  const m = r.memory;
  if (m) {
    // With both, swap (memory+swap) must stay >= the memory limit at every step: the
    // manager retries in the other order if the first write is refused.
    if (m.limit !== undefined) {
      out.push(w("memory", "memory.limit_in_bytes", m.limit, "memory.limit"));
    }
    if (m.swap !== undefined) {
      out.push(w("memory", "memory.memsw.limit_in_bytes", m.swap, "memory.swap"));
    }
    if (m.reservation !== undefined) {
      out.push(w("memory", "memory.soft_limit_in_bytes", m.reservation, "memory.reservation"));
    }
    if (m.kernel !== undefined) {
      out.push(w("memory", "memory.kmem.limit_in_bytes", m.kernel, "memory.kernel", true));
    }
    if (m.kernelTCP !== undefined) {
      out.push(w("memory", "memory.kmem.tcp.limit_in_bytes", m.kernelTCP, "memory.kernelTCP"));
    }
    if (m.swappiness !== undefined) {
      out.push(w("memory", "memory.swappiness", m.swappiness, "memory.swappiness"));
    }
    if (m.disableOOMKiller) {
      out.push(w("memory", "memory.oom_control", "1", "memory.disableOOMKiller"));
    }
  }
  const c = r.cpu;
  if (c) {
    if (c.shares !== undefined && big(c.shares) !== 0n) {
      out.push(w("cpu", "cpu.shares", c.shares, "cpu.shares"));
    }
    if (c.period !== undefined && big(c.period) !== 0n) {
      out.push(w("cpu", "cpu.cfs_period_us", c.period, "cpu.period"));
    }
    if (c.quota !== undefined && big(c.quota) !== 0n) {
      out.push(w("cpu", "cpu.cfs_quota_us", c.quota, "cpu.quota"));
    }
    if (c.burst !== undefined) out.push(w("cpu", "cpu.cfs_burst_us", c.burst, "cpu.burst"));
    if (c.realtimePeriod !== undefined && big(c.realtimePeriod) !== 0n) {
      out.push(w("cpu", "cpu.rt_period_us", c.realtimePeriod, "cpu.realtimePeriod"));
    }
    if (c.realtimeRuntime !== undefined && big(c.realtimeRuntime) !== 0n) {
      out.push(w("cpu", "cpu.rt_runtime_us", c.realtimeRuntime, "cpu.realtimeRuntime"));
    }
  }
  out.push(...sameInBoth(r));
  const b = r.blockIO;
  if (b) {
    if (b.weight !== undefined) {
      out.push(w("blkio", ["blkio.bfq.weight", "blkio.weight"], b.weight, "blockIO.weight"));
    }
    if (b.leafWeight !== undefined) {
      out.push(w("blkio", "blkio.leaf_weight", b.leafWeight, "blockIO.leafWeight"));
    }
    for (const d of b.weightDevice ?? []) {
      if (d.weight !== undefined) {
        out.push(
          w(
            "blkio",
            ["blkio.bfq.weight_device", "blkio.weight_device"],
            `${dev(d)} ${d.weight}`,
            "blockIO.weightDevice",
          ),
        );
      }
      if (d.leafWeight !== undefined) {
        out.push(
          w(
            "blkio",
            "blkio.leaf_weight_device",
            `${dev(d)} ${d.leafWeight}`,
            "blockIO.weightDevice",
          ),
        );
      }
    }
    const throttle = [
      ["throttleReadBpsDevice", "blkio.throttle.read_bps_device"],
      ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device"],
      ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device"],
      ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"],
    ] as const;
    for (const [key, file] of throttle) {
      for (const d of b[key] ?? []) {
        out.push(w("blkio", file, `${dev(d)} ${d.rate}`, `blockIO.${key}`));
      }
    }
  }
  for (const h of r.hugepageLimits ?? []) {
    out.push(w("hugetlb", `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit, "hugepageLimits"));
  }
  if (r.network?.classID !== undefined) {
    out.push(w("net_cls", "net_cls.classid", r.network.classID, "network.classID"));
  }
  for (const p of r.network?.priorities ?? []) {
    out.push(w("net_prio", "net_prio.ifpriomap", `${p.name} ${p.priority}`, "network.priorities"));
  }
  out.push(...rdmaWrites(r));
  return out;
}

/** Settings whose files are named and valued alike in v1 and v2: cpu.idle, cpusets, pids. */
function sameInBoth(r: Resources): Write[] {
  const out: Write[] = [];
  const c = r.cpu;
  if (c?.idle !== undefined) out.push(w("cpu", "cpu.idle", c.idle, "cpu.idle"));
  if (c?.cpus) out.push(w("cpuset", "cpuset.cpus", c.cpus, "cpu.cpus"));
  if (c?.mems) out.push(w("cpuset", "cpuset.mems", c.mems, "cpu.mems"));
  if (r.pids?.limit !== undefined) {
    out.push(w("pids", "pids.max", big(r.pids.limit) > 0n ? r.pids.limit : "max", "pids.limit"));
  }
  return out;
}

/** The v1 devices controller's writes: deny all, then each rule in order. */
export function v1DeviceWrites(r: Resources | undefined): Write[] {
  return deviceRules(r).map((rule) =>
    w("devices", rule.allow ? "devices.allow" : "devices.deny", v1DeviceLine(rule), "devices")
  );
}

function rdmaWrites(r: Resources): Write[] {
  const out: Write[] = [];
  for (const [device, limit] of Object.entries(r.rdma ?? {})) {
    const parts = [device];
    if (limit.hcaHandles !== undefined) parts.push(`hca_handle=${limit.hcaHandles}`);
    if (limit.hcaObjects !== undefined) parts.push(`hca_object=${limit.hcaObjects}`);
    if (parts.length > 1) out.push(w("rdma", "rdma.max", parts.join(" "), "rdma"));
  }
  return out;
}

/** cpu.shares (2..262144) to cpu.weight (1..10000). */
export function sharesToWeight(shares: bigint): bigint {
  return shares === 0n ? 0n : 1n + ((shares - 2n) * 9999n) / 262142n;
}

/** blkio weight (10..1000) to io.weight (1..10000). */
export function blkioToIoWeight(weight: number): number {
  return weight === 0 ? 0 : 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** The OCI memory.swap (memory plus swap) as v2's memory.swap.max (swap alone). */
export function swapMaxV2(limit: Int64 | undefined, swap: Int64): string {
  const s = big(swap);
  if (s === -1n) return "max";
  if (s === 0n) return "0";
  const l = limit === undefined ? -1n : big(limit);
  if (l <= 0n) {
    throw new DenkiError(
      "linux.resources.memory.swap: under cgroup v2 a swap limit needs a memory limit too",
    );
  }
  if (s < l) {
    throw new DenkiError(
      `linux.resources.memory.swap (${s}) is less than memory.limit (${l}): swap counts memory plus swap and must be at least the limit`,
    );
  }
  return String(s - l);
}

/** Config fields cgroup v2 has no file for; they are skipped with a warning. */
export function v2Unsupported(r: Resources): string[] {
  const out: string[] = [];
  if (r.memory?.kernel !== undefined) out.push("memory.kernel");
  if (r.memory?.kernelTCP !== undefined) out.push("memory.kernelTCP");
  if (r.memory?.swappiness !== undefined) out.push("memory.swappiness");
  if (r.memory?.disableOOMKiller) out.push("memory.disableOOMKiller");
  if (r.blockIO?.leafWeight !== undefined) out.push("blockIO.leafWeight");
  if (r.network?.classID !== undefined) out.push("network.classID");
  if ((r.network?.priorities ?? []).length > 0) out.push("network.priorities");
  return out;
}

/** The writes for cgroup v2, in order; `unified` entries come last so they win. */
export function v2Writes(r: Resources): Write[] {
  const out: Write[] = [];
  const m = r.memory;
  if (m) {
    if (m.reservation !== undefined) {
      out.push(
        w(
          "memory",
          "memory.low",
          big(m.reservation) < 0n ? "max" : m.reservation,
          "memory.reservation",
        ),
      );
    }
    if (m.swap !== undefined) {
      out.push(w("memory", "memory.swap.max", swapMaxV2(m.limit, m.swap), "memory.swap"));
    }
    if (m.limit !== undefined) {
      out.push(w("memory", "memory.max", big(m.limit) < 0n ? "max" : m.limit, "memory.limit"));
    }
  }
  const c = r.cpu;
  if (c) {
    if (c.realtimeRuntime !== undefined || c.realtimePeriod !== undefined) {
      throw new DenkiError(
        "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no real-time CPU bandwidth control",
      );
    }
    if (c.shares !== undefined && big(c.shares) !== 0n) {
      out.push(w("cpu", "cpu.weight", sharesToWeight(big(c.shares)), "cpu.shares"));
    }
    const quota = c.quota === undefined ? 0n : big(c.quota);
    const period = c.period === undefined ? 0n : big(c.period);
    if (quota !== 0n || period !== 0n) {
      out.push(
        w("cpu", "cpu.max", `${quota > 0n ? quota : "max"} ${period || 100000n}`, "cpu.quota"),
      );
    }
    if (c.burst !== undefined) out.push(w("cpu", "cpu.max.burst", c.burst, "cpu.burst"));
  }
  out.push(...sameInBoth(r));
  const b = r.blockIO;
  if (b) {
    if (b.weight !== undefined) {
      // io.bfq.weight takes blkio's own scale; io.weight needs the conversion.
      out.push(w("io", "io.bfq.weight", b.weight, "blockIO.weight", true));
      out.push(w("io", "io.weight", `default ${blkioToIoWeight(b.weight)}`, "blockIO.weight"));
    }
    for (const d of b.weightDevice ?? []) {
      if (d.weight !== undefined) {
        out.push(
          w("io", "io.weight", `${dev(d)} ${blkioToIoWeight(d.weight)}`, "blockIO.weightDevice"),
        );
      }
    }
    const throttle = [
      ["throttleReadBpsDevice", "rbps"],
      ["throttleWriteBpsDevice", "wbps"],
      ["throttleReadIOPSDevice", "riops"],
      ["throttleWriteIOPSDevice", "wiops"],
    ] as const;
    for (const [key, name] of throttle) {
      for (const d of b[key] ?? []) {
        out.push(
          w(
            "io",
            "io.max",
            `${dev(d)} ${name}=${big(d.rate) === 0n ? "max" : d.rate}`,
            `blockIO.${key}`,
          ),
        );
      }
    }
  }
  for (const h of r.hugepageLimits ?? []) {
    out.push(w("hugetlb", `hugetlb.${h.pageSize}.max`, h.limit, "hugepageLimits"));
  }
  out.push(...rdmaWrites(r));
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    if (key.includes("/") || key === "." || key === ".." || !key.includes(".")) {
      throw new DenkiError(
        `linux.resources.unified: ${quote(key)} is not a cgroup file name`,
      );
    }
    out.push(w(key.slice(0, key.indexOf(".")), key, value, `unified.${key}`));
  }
  return out;
}
