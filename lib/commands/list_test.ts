import assert from "node:assert/strict";
import { table } from "./list.ts";

Deno.test("table: columns padded like Go's tabwriter (minwidth 12, padding 3)", () => {
  assert.equal(
    table([
      ["ID", "PID", "STATUS", "OWNER"],
      ["a-very-long-container-id", "1", "running", "root"],
    ]),
    "ID                         PID         STATUS      OWNER\n" +
      "a-very-long-container-id   1           running     root\n",
  );
});
