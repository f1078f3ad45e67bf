import assert from "node:assert/strict";
import { rfc3339Nano } from "./rfc3339.ts";

Deno.test("rfc3339Nano: Go's RFC3339Nano in UTC, trailing zeros of the fraction dropped", () => {
  // Values and texts from runc 1.1.5's state.json and `runc state` on this project's machine.
  assert.equal(rfc3339Nano(1796291426n, 552089326), "2026-12-03T09:50:26.552089326Z");
  assert.equal(rfc3339Nano(1796291426n, 552089320), "2026-12-03T09:50:26.55208932Z");
  assert.equal(rfc3339Nano(1796291426n, 500000000), "2026-12-03T09:50:26.5Z");
  assert.equal(rfc3339Nano(1796291426n, 7), "2026-12-03T09:50:26.000000007Z");
  assert.equal(rfc3339Nano(1796291426n, 0), "2026-12-03T09:50:26Z");
  assert.equal(rfc3339Nano(0n, 0n), "1970-01-01T00:00:00Z");
  // Out-of-range nanoseconds carry into the seconds.
  assert.equal(rfc3339Nano(0n, 1_500_000_000), "1970-01-01T00:00:01.5Z");
  assert.equal(rfc3339Nano(1n, -1), "1970-01-01T00:00:00.999999999Z");
});
