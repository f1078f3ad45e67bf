/**
 * `linux.resources` as cgroup v2 writes. The OCI spec's numbers are v1's; conversions to v2's
 * scales follow the formulas runc and crun use, so the same config means the same limits
 * under every runtime. Pure.
 */
import { DenkiError, quote } from "../../errors.ts";
import type { Int64 } from "../../spec/schema.ts";
import type { Resources } from "../../spec/config.ts";
import { big, dev, rdmaWrites, resourceWrite as w, sameInBoth, type Write } from "../resources.ts";

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
  if (r.blockIO?.weightDevice?.some((d) => d.leafWeight !== undefined)) {
    out.push("blockIO.weightDevice.leafWeight");
  }
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
    // 0 means unset, as under v1.
    if (
      (c.realtimeRuntime !== undefined && big(c.realtimeRuntime) !== 0n) ||
      (c.realtimePeriod !== undefined && big(c.realtimePeriod) !== 0n)
    ) {
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
    out.push(w(unifiedController(key), key, value, `unified.${key}`));
  }
  return out;
}

/** The controller a `unified` file belongs to ("cgroup" for the core files); checks the name. */
export function unifiedController(key: string): string {
  if (key.includes("/") || key === "." || key === ".." || !key.includes(".")) {
    throw new DenkiError(`linux.resources.unified: ${quote(key)} is not a cgroup file name`);
  }
  return key.slice(0, key.indexOf("."));
}
