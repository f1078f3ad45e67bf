/**
 * `linux.resources` as cgroup v1 writes: the OCI spec's numbers are v1's own, so values go
 * to their files as they are. Also the devices controller's rule lines. Pure.
 */
import type { Resources } from "../../spec/config.ts";
import type { DeviceRule } from "../../plan/bpf_devices.ts";
import { deviceRules } from "../devices.ts";
import { big, dev, rdmaWrites, resourceWrite as w, sameInBoth, type Write } from "../resources.ts";

/** The writes for cgroup v1 controllers, in the order they must happen. */
export function v1Writes(r: Resources): Write[] {
  const out: Write[] = [];
  const m = r.memory;
  if (m) {
    // With both, swap (memory+swap) must stay >= the memory limit at every step: the
    // driver retries in the other order if the first write is refused.
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

/** The v1 devices controller's writes: deny all, then each rule in order. */
export function v1DeviceWrites(r: Resources | undefined): Write[] {
  return deviceRules(r).map((rule) =>
    w("devices", rule.allow ? "devices.allow" : "devices.deny", v1DeviceLine(rule), "devices")
  );
}

/** One rule in the text form devices.allow and devices.deny take: "c 1:3 rwm", "a". */
export function v1DeviceLine(rule: DeviceRule): string {
  const type = rule.type ?? "a";
  const access = rule.access ?? "rwm";
  const num = (n: number | bigint | undefined) =>
    n === undefined || BigInt(n) < 0n ? "*" : String(n);
  if (type === "a" && num(rule.major) === "*" && num(rule.minor) === "*" && access === "rwm") {
    return "a";
  }
  return `${type} ${num(rule.major)}:${num(rule.minor)} ${access}`;
}
