/** The clocks of clock_gettime(2), in nanoseconds (the Wasm guest's clocks, `created` times). */
import { attempt } from "./call.ts";

/** clock_gettime(2) of clock `id`, in nanoseconds, or the errno. */
export function clockNs(id: number): bigint | { errno: number } {
  const ts = new BigInt64Array(2); // struct timespec: tv_sec, tv_nsec (64-bit here)
  const r = attempt("clock_gettime", id, new Uint8Array(ts.buffer));
  return r.ret < 0n ? { errno: r.errno } : ts[0]! * 1_000_000_000n + ts[1]!;
}

/** clock_getres(2) of clock `id`, in nanoseconds, or the errno. */
export function clockResNs(id: number): bigint | { errno: number } {
  const ts = new BigInt64Array(2);
  const r = attempt("clock_getres", id, new Uint8Array(ts.buffer));
  return r.ret < 0n ? { errno: r.errno } : ts[0]! * 1_000_000_000n + ts[1]!;
}
