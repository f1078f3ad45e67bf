import assert from "node:assert/strict";
import { parseSpec } from "../lib/spec/parse.ts";
import { program, testWith } from "../tests/support/requires.ts";

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

testWith(
  "bundles: hello-wasm's committed module is what its WAT source builds",
  [program("wat2wasm")],
  () => {
    const here = new URL("./hello-wasm/", import.meta.url).pathname;
    const out = Deno.makeTempFileSync({ suffix: ".wasm" });
    try {
      const r = new Deno.Command("wat2wasm", { args: [`${here}hello.wat`, "-o", out] })
        .outputSync();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      assert.deepEqual(Deno.readFileSync(`${here}rootfs/hello.wasm`), Deno.readFileSync(out));
    } finally {
      Deno.removeSync(out);
    }
  },
);
