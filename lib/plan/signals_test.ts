import assert from "node:assert/strict";
import { parseSignal, signalName } from "./signals.ts";

Deno.test("signals: names with or without SIG in any case, numbers, RT signals", () => {
  assert.equal(parseSignal("KILL"), 9);
  assert.equal(parseSignal("SIGKILL"), 9);
  assert.equal(parseSignal("sigterm"), 15);
  assert.equal(parseSignal("usr1"), 10);
  assert.equal(parseSignal("9"), 9);
  assert.equal(parseSignal("64"), 64);
  assert.equal(parseSignal("RTMIN"), 34);
  assert.equal(parseSignal("SIGRTMIN+2"), 36);
  assert.equal(parseSignal("RTMAX-1"), 63);
  for (const bad of ["0", "65", "BOGUS", "SIG", "RTMIN+40", "-1", ""]) {
    assert.equal(parseSignal(bad), undefined, bad);
  }
  assert.equal(signalName(15), "SIGTERM");
  assert.equal(signalName(40), "signal 40");
});
