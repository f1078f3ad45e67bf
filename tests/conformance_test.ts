/**
 * The conformance checks of tests/conformance as tests: each one runs against denki (bin/denki,
 * its own state root), so CI proves every requirement that `deno task conformance` reports. The
 * hostile checks are left to tests/hostile_matrix_test.ts, which runs the same checks cell by
 * cell. And a self-test: every check that runs a workload must fail when no program does its
 * work (tests/conformance/mutant.ts), so none can pass on an empty output.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS } from "./support/container.ts";
import { testWith } from "./support/requires.ts";
import { CHECKS } from "./conformance/checks/mod.ts";
import { makeRuntime, waits } from "./conformance/runtime.ts";
import { mutant } from "./conformance/mutant.ts";

const root = Deno.makeTempDirSync({ prefix: "denki-conformance-test-" });
const denki = makeRuntime("denki", root);
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

/** Checks this file runs (the hostile ones run in tests/hostile_matrix_test.ts). */
const checks = CHECKS.filter((c) => !c.id.startsWith("hostile."));

Deno.test("conformance: check ids are unique and each names its source in the spec", () => {
  const ids = CHECKS.map((c) => c.id);
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], "duplicate ids");
  for (const c of CHECKS) {
    assert.match(c.section, /^(runtime|config|config-linux)\.md#[a-z0-9-]+$|^runc CLI/, c.id);
    assert.ok(c.requirement.length > 0 && !c.requirement.includes("\n"), c.id);
  }
});

/** Fails when the check left containers under the root. */
async function nothingLeft(): Promise<void> {
  const left = await denki.run(["list", "-q"]);
  assert.equal(left.stdout.trim(), "", "the check left containers behind");
}

for (const check of checks) {
  testWith(
    `conformance: ${check.id}: ${check.requirement}`,
    [...CONTAINER_REQS, check.needs?.()],
    async () => {
      await check.run(denki);
      await nothingLeft();
    },
  );
}

for (const check of checks.filter((c) => c.workload === undefined)) {
  testWith(
    `conformance self-test: ${check.id} fails when no program does its work`,
    [...CONTAINER_REQS, check.needs?.()],
    async (t) => {
      for (const kind of ["true", "idle"] as const) {
        await t.step(`programs replaced: ${kind}`, async () => {
          // The marks it waits for never come: it only has to fail, not to wait them out.
          waits.scale = 0.2;
          try {
            await assert.rejects(
              check.run(mutant(denki, kind)),
              `${check.id} passed though no program did its work`,
            );
          } finally {
            waits.scale = 1;
          }
          await nothingLeft();
        });
      }
    },
  );
}
