import assert from "node:assert/strict";
import { isInitialUidMap, isRootless } from "./rootless.ts";

Deno.test("rootless: the initial uid map is the identity over every id", () => {
  assert.equal(isInitialUidMap("         0          0 4294967295\n"), true);
  assert.equal(isInitialUidMap("         0       1000          1\n"), false);
  assert.equal(isInitialUidMap("0 0 4294967295\n1 1 1\n"), false);
  assert.equal(isInitialUidMap("         0     100000      65536\n"), false);
  // No /proc: nothing says otherwise.
  assert.equal(isInitialUidMap(undefined), true);
});

Deno.test("rootless: any uid but 0 is rootless", () => {
  assert.equal(isRootless(1000), true);
  const here = Deno.readTextFileSync("/proc/self/uid_map");
  assert.equal(isRootless(0), !isInitialUidMap(here));
});
