import assert from "node:assert/strict";
import { parseSpec } from "../lib/spec/parse.ts";

Deno.test("bundles: every sample config.json is valid", () => {
  const here = new URL(".", import.meta.url).pathname;
  let seen = 0;
  for (const entry of Deno.readDirSync(here)) {
    if (!entry.isDirectory) continue;
    const file = `${here}${entry.name}/config.json`;
    const spec = parseSpec(Deno.readTextFileSync(file), file);
    assert.ok(spec.process?.args?.length, entry.name);
    seen++;
  }
  assert.ok(seen >= 1);
});
