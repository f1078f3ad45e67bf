import assert from "node:assert/strict";
import { lazyImports } from "./bundle.ts";

Deno.test("lazyImports: only relative chunk imports are rewritten", () => {
  assert.equal(
    lazyImports('load: async () => (await import("./state-AB12.js")).command'),
    'load: async () => (await import(String("./state-AB12.js"))).command',
  );
  assert.equal(
    lazyImports('import { x } from "./chunk-1.js";'),
    'import { x } from "./chunk-1.js";',
  );
  assert.equal(lazyImports('import("npm:thing")'), 'import("npm:thing")');
});
