/**
 * Timestamps as runc writes them: Go's `time.RFC3339Nano` layout of a UTC time, which is how
 * a `time.Time` marshals to JSON (`created` in the state). The fraction has up to nine digits
 * with its trailing zeros dropped, and no dot at all when it is zero.
 */

const NS_PER_S = 1_000_000_000n;

/** RFC 3339 with nanoseconds, in UTC: "2024-05-01T10:20:30.1234Z" for (seconds, nanoseconds). */
export function rfc3339Nano(seconds: bigint, nanoseconds: bigint | number): string {
  // Normalise, so that callers may pass a nanosecond count past one second or below zero.
  const total = seconds * NS_PER_S + BigInt(nanoseconds);
  let s = total / NS_PER_S;
  let ns = total % NS_PER_S;
  if (ns < 0n) {
    ns += NS_PER_S;
    s -= 1n;
  }
  const date = new Date(Number(s) * 1000).toISOString().slice(0, 19);
  const frac = ns.toString().padStart(9, "0").replace(/0+$/, "");
  return frac === "" ? `${date}Z` : `${date}.${frac}Z`;
}
