import assert from "node:assert/strict";
import { parseBytes, resourcesFromFlags } from "./update.ts";
import { filterPs } from "./ps.ts";
import { parseDuration } from "../lifecycle/events.ts";

Deno.test("update: sizes as runc takes them", () => {
  assert.equal(parseBytes("memory", "1024"), 1024);
  assert.equal(parseBytes("memory", "512m"), 512 * 1024 * 1024);
  assert.equal(parseBytes("memory", "1.5G"), 1.5 * 1024 ** 3);
  assert.equal(parseBytes("memory", "64kb"), 65536);
  assert.equal(parseBytes("memory", "-1"), -1);
  assert.equal(parseBytes("memory", "16p"), 16n * (1n << 50n));
  assert.throws(() => parseBytes("memory", "lots"), /--memory "lots": not a size/);
});

Deno.test("update: flags over a resources file", () => {
  const r = resourcesFromFlags({ memory: { limit: 1 }, pids: { limit: 5 } }, {
    memory: "2m",
    "memory-swap": "-1",
    "cpu-quota": "20000",
    "cpu-period": "100000",
    "cpuset-cpus": "0",
    "blkio-weight": "300",
  });
  assert.deepEqual(r, {
    memory: { limit: 2097152, swap: -1 },
    pids: { limit: 5 },
    cpu: { quota: 20000, period: 100000, cpus: "0" },
    blockIO: { weight: 300 },
  });
  assert.throws(() => resourcesFromFlags({}, { "blkio-weight": "5" }), /between 10 and 1000/);
  assert.throws(
    () => resourcesFromFlags({}, { "pids-limit": "x" }),
    /--pids-limit "x": not an integer/,
  );
});

Deno.test("ps: keeps the header and the container's lines", () => {
  const out = "UID  PID PPID CMD\nroot 1 0 init\nroot 42 1 sh\nroot 420 1 other\n";
  assert.equal(filterPs(out, [42]), "UID  PID PPID CMD\nroot 42 1 sh\n");
  assert.throws(() => filterPs("USER COMMAND\n", [1]), /no PID column/);
});

Deno.test("events: Go durations", () => {
  assert.equal(parseDuration("5s"), 5000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  for (const bad of ["5", "s", "-1s", "1d", ""]) assert.equal(parseDuration(bad), undefined, bad);
});
