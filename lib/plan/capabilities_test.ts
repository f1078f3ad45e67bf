import assert from "node:assert/strict";
import { CAPABILITIES, capMask } from "./capabilities.ts";

Deno.test("capabilities: names to a mask, unknown names reported", () => {
  assert.equal(CAPABILITIES.CAP_SYS_ADMIN, 21);
  const r = capMask(["CAP_CHOWN", "CAP_KILL", "CAP_NOPE", "CAP_CHECKPOINT_RESTORE"]);
  assert.equal(r.mask, 1n | (1n << 5n) | (1n << 40n));
  assert.deepEqual(r.unknown, ["CAP_NOPE"]);
});
