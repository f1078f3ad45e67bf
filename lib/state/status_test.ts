import assert from "node:assert/strict";
import { allows, isAlive, liveStatus, type ProcessInfo, requireStatus } from "./status.ts";

const procs = (table: Record<number, ProcessInfo>) => (pid: number) => table[pid];

Deno.test("status rules follow runc", () => {
  assert.ok(allows("start", "created"));
  assert.ok(!allows("start", "running"));
  assert.ok(!allows("start", "stopped"));
  assert.ok(allows("delete", "stopped") && allows("delete", "created"));
  assert.ok(!allows("delete", "running") && !allows("delete", "paused"));
  assert.ok(allows("kill", "running") && allows("kill", "paused") && allows("kill", "created"));
  assert.ok(!allows("kill", "stopped"));
  assert.ok(allows("resume", "paused") && !allows("resume", "running"));
});

Deno.test("requireStatus: names the container, its status and what is needed", () => {
  assert.throws(() => requireStatus("start", "c1", "running"), {
    name: "InvalidState",
    message: 'cannot start container "c1": its status is "running" (needs "created")',
  });
  assert.throws(() => requireStatus("kill", "c1", "stopped"), {
    message:
      'cannot kill container "c1": its status is "stopped" (needs "created" or "running" or "paused")',
  });
  requireStatus("start", "c1", "created");
});

Deno.test("isAlive: missing, zombie and reused pids are not the container", () => {
  const read = procs({
    10: { state: "S", startTime: 500 },
    11: { state: "Z", startTime: 600 },
    12: { state: "R", startTime: 999 },
  });
  assert.ok(isAlive(10, 500, read));
  assert.ok(!isAlive(11, 600, read), "zombie");
  assert.ok(!isAlive(12, 700, read), "pid reused by a later process");
  assert.ok(!isAlive(13, 1, read), "gone");
  assert.ok(!isAlive(0, 0, read), "no pid");
});

Deno.test("liveStatus: a dead init makes a running container stopped", () => {
  const read = procs({ 10: { state: "S", startTime: 500 } });
  assert.equal(liveStatus("running", 10, 500, read), "running");
  assert.equal(liveStatus("created", 10, 500, read), "created");
  assert.equal(liveStatus("paused", 10, 500, read), "paused");
  assert.equal(liveStatus("running", 10, 501, read), "stopped");
  assert.equal(liveStatus("created", 99, 1, read), "stopped");
  assert.equal(liveStatus("stopped", 10, 500, read), "stopped");
});
