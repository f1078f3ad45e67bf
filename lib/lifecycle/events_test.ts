import assert from "node:assert/strict";
import { parseDuration } from "./events.ts";

Deno.test("events: Go durations", () => {
  assert.equal(parseDuration("5s"), 5000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  for (const bad of ["5", "s", "-1s", "1d", ""]) assert.equal(parseDuration(bad), undefined, bad);
});
