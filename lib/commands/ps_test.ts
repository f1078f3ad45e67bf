import assert from "node:assert/strict";
import { filterPs } from "./ps.ts";

Deno.test("ps: keeps the header and the container's lines", () => {
  const out = "UID  PID PPID CMD\nroot 1 0 init\nroot 42 1 sh\nroot 420 1 other\n";
  assert.equal(filterPs(out, [42]), "UID  PID PPID CMD\nroot 42 1 sh\n");
  assert.throws(() => filterPs("USER COMMAND\n", [1]), /no PID column/);
});
