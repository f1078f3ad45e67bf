/** Clocks (realtime, monotonic, process and thread CPU time) and random_get. */
import type { GuestMemory } from "./memory.ts";
import type { Native } from "./native.ts";
import { CLOCK, E } from "./types.ts";

const START = performance.now();

/** Current time of a clock in nanoseconds; undefined for an unknown clock. */
export function now(id: number, native: Native | undefined): bigint | undefined {
  if (id > CLOCK.THREAD_CPUTIME) return undefined;
  if (native) {
    const t = native.clock(id);
    if (typeof t === "bigint") return t;
  }
  switch (id) {
    case CLOCK.REALTIME:
      return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    case CLOCK.MONOTONIC:
      return BigInt(Math.round(performance.now() * 1e6));
    default:
      // Without system calls CPU time is not visible; elapsed time is its upper bound.
      return BigInt(Math.round((performance.now() - START) * 1e6));
  }
}

/** clock_*, random_get. */
export class Clocks {
  constructor(readonly mem: GuestMemory, readonly native: Native | undefined) {}

  clock_res_get(id: number, ptr: number): number {
    if (id > CLOCK.THREAD_CPUTIME) return E.INVAL;
    let res = 1000n;
    if (this.native) {
      const r = this.native.clockRes(id);
      if (typeof r === "bigint") res = r;
    }
    this.mem.setU64(ptr, res);
    return E.SUCCESS;
  }

  clock_time_get(id: number, _precision: bigint, ptr: number): number {
    const t = now(id, this.native);
    if (t === undefined) return E.INVAL;
    this.mem.setU64(ptr, t);
    return E.SUCCESS;
  }

  random_get(buf: number, len: number): number {
    const out = this.mem.slice(buf, len);
    // getRandomValues fills at most 64 KiB per call.
    for (let off = 0; off < len; off += 65536) {
      crypto.getRandomValues(out.subarray(off, Math.min(len, off + 65536)));
    }
    return E.SUCCESS;
  }
}
