import assert from "node:assert/strict";
import type { Spec } from "../../lib/spec/config.ts";
import { WASM_ANNOTATIONS } from "./annotations.ts";
import { wantsWasm } from "./module.ts";

Deno.test("Wasm annotations: each one, with its value, asks for the Wasm executor; others do not", () => {
  const spec = (annotations: Record<string, string>): Spec => ({
    ociVersion: "1.3.0",
    annotations,
  });
  for (const [key, value] of Object.entries(WASM_ANNOTATIONS)) {
    assert.ok(wantsWasm(spec({ [key]: value })), key);
    assert.ok(!wantsWasm(spec({ [key]: `${value}x` })), `${key} with another value`);
  }
  assert.ok(!wantsWasm(spec({})));
  assert.deepEqual(Object.keys(WASM_ANNOTATIONS), ["run.oci.handler", "module.wasm.image/variant"]);
});
