import assert from "node:assert/strict";
import { defaultRoot } from "./globals.ts";

Deno.test("defaultRoot: /run/denki for root, XDG_RUNTIME_DIR for others", () => {
  assert.equal(defaultRoot(false, "/run/user/0"), "/run/denki");
  assert.equal(defaultRoot(true, "/run/user/1000"), "/run/user/1000/denki");
  assert.equal(defaultRoot(true, undefined), "/run/denki");
});
