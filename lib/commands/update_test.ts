import assert from "node:assert/strict";
import { parseBytes, resourcesFromFlags } from "./update.ts";

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
