/** `deno task compile`: a working binary when a denort runtime is at hand, a clear error when not. */
import assert from "node:assert/strict";
import { tempDir } from "./support/denki.ts";

const COMPILE = new URL("../bin/compile.ts", import.meta.url).pathname;

async function compile(out: string, env: Record<string, string>) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", COMPILE, "--output", out],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test("compile: a missing DENORT_BIN is named", async () => {
  const dir = tempDir();
  try {
    const r = await compile(`${dir.path}/denki`, { DENORT_BIN: `${dir.path}/nope` });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `compile: DENORT_BIN=${dir.path}/nope does not exist\n`);
  } finally {
    dir.cleanup();
  }
});

Deno.test("compile: the deno CLI is refused as DENORT_BIN", async () => {
  const dir = tempDir();
  try {
    const r = await compile(`${dir.path}/denki`, { DENORT_BIN: Deno.execPath() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is the deno CLI itself; a binary built on it ignores its payload/);
    assert.throws(() => Deno.statSync(`${dir.path}/denki`), Deno.errors.NotFound);
  } finally {
    dir.cleanup();
  }
});

Deno.test("compile: builds a working binary, or says why the runtime is unavailable", async () => {
  const dir = tempDir();
  try {
    const out = `${dir.path}/denki`;
    const r = await compile(out, {});
    if (r.code !== 0) {
      // Offline (as in CI): one clear sentence, not a network trace.
      assert.match(
        r.stderr,
        /^compile: the denort runtime for Deno 2\.\d+\.\d+ cannot be downloaded/,
      );
      assert.match(r.stderr, /DENORT_BIN=\/path\/to\/denort/);
      return;
    }
    const v = new Deno.Command(out, { args: ["--version"], stdout: "piped" }).outputSync();
    assert.match(new TextDecoder().decode(v.stdout), /^denki version /);
    const spec = new Deno.Command(out, { args: ["spec"], cwd: dir.path }).outputSync();
    assert.equal(spec.code, 0);
    assert.ok(Deno.statSync(`${dir.path}/config.json`).isFile);
  } finally {
    dir.cleanup();
  }
});
