/**
 * The conformance checks of tests/conformance as tests: each one runs against denki (bin/denki,
 * its own state root), so CI proves every requirement that `deno task conformance` reports.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS } from "./support/container.ts";
import { testWith } from "./support/requires.ts";
import { CHECKS } from "./conformance/checks/mod.ts";
import { makeRuntime, Skip } from "./conformance/runtime.ts";

const root = Deno.makeTempDirSync({ prefix: "denki-conformance-test-" });
const denki = makeRuntime("denki", root);
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

Deno.test("conformance: check ids are unique and each names its source in the spec", () => {
  const ids = CHECKS.map((c) => c.id);
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], "duplicate ids");
  for (const c of CHECKS) {
    assert.match(c.section, /^(runtime|config|config-linux)\.md#[a-z0-9-]+$|^runc CLI/, c.id);
    assert.ok(c.requirement.length > 0 && !c.requirement.includes("\n"), c.id);
  }
});

for (const check of CHECKS) {
  testWith(`conformance: ${check.id}: ${check.requirement}`, CONTAINER_REQS, async () => {
    try {
      await check.run(denki);
    } catch (e) {
      // A host without the feature a check needs is not a denki failure.
      if (e instanceof Skip) return console.log(`skipped here: ${e.message}`);
      throw e;
    }
    const left = await denki.run(["list", "-q"]);
    assert.equal(left.stdout.trim(), "", "the check left containers behind");
  });
}
