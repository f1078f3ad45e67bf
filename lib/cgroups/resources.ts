/**
 * `linux.resources` as cgroupfs writes: the shape both versions share and the settings whose
 * files are alike in v1 and v2. Each version's own translation is in v1/resources.ts and
 * v2/resources.ts; the drivers carry the writes out. Pure: no I/O here.
 */
import type { Int64 } from "../spec/schema.ts";
import type { Resources } from "../spec/config.ts";

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

/** A Write of `value` to `file` (or the first existing of several names). */
export function resourceWrite(
  controller: string,
  file: string | readonly string[],
  value: Int64 | string,
  field: string,
  optional = false,
): Write {
  return {
    controller,
    files: typeof file === "string" ? [file] : file,
    value: String(value),
    field,
    ...(optional ? { optional } : {}),
  };
}

/** A config number as a bigint (Int64 may be either). */
export const big = (v: Int64): bigint => BigInt(v);

/** "major:minor" of a device entry. */
export const dev = (d: { major: Int64; minor: Int64 }): string => `${d.major}:${d.minor}`;

/** Settings whose files are named and valued alike in v1 and v2: cpu.idle, cpusets, pids. */
export function sameInBoth(r: Resources): Write[] {
  const w = resourceWrite;
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

/** rdma.max lines, alike in both versions. */
export function rdmaWrites(r: Resources): Write[] {
  const out: Write[] = [];
  for (const [device, limit] of Object.entries(r.rdma ?? {})) {
    const parts = [device];
    if (limit.hcaHandles !== undefined) parts.push(`hca_handle=${limit.hcaHandles}`);
    if (limit.hcaObjects !== undefined) parts.push(`hca_object=${limit.hcaObjects}`);
    if (parts.length > 1) out.push(resourceWrite("rdma", "rdma.max", parts.join(" "), "rdma"));
  }
  return out;
}
