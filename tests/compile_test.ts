/** `deno task compile`: a working binary when a denort runtime is at hand, a clear error when not. */
import assert from "node:assert/strict";
import { tempDir } from "./support/denki.ts";
import { testWith } from "./support/requires.ts";

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

// One compile in this machine's own conditions decides which of the two tests below can run:
// with a denort runtime at hand (DENORT_BIN, Deno's cache or the network) the binary is
// checked; without one (as in CI), the message is.
const built = tempDir();
globalThis.addEventListener("unload", built.cleanup);
const attempt = await compile(`${built.path}/denki`, {});
const offline = /^compile: the denort runtime .* cannot be downloaded/.test(attempt.stderr);

testWith(
  "compile: builds a working binary",
  [
    attempt.code === 0
      ? undefined
      : offline
      ? "no denort runtime: DENORT_BIN is not set and dl.deno.land cannot be reached"
      : `compile failed: ${attempt.stderr.trim().split("\n")[0]!.slice(0, 100)}`,
  ],
  () => {
    const out = `${built.path}/denki`;
    const v = new Deno.Command(out, { args: ["--version"], stdout: "piped" }).outputSync();
    assert.match(new TextDecoder().decode(v.stdout), /^denki version /);
    const spec = new Deno.Command(out, { args: ["spec"], cwd: built.path }).outputSync();
    assert.equal(spec.code, 0);
    assert.ok(Deno.statSync(`${built.path}/config.json`).isFile);
  },
);

testWith(
  "compile: without a denort runtime, one sentence says how to get one",
  [attempt.code === 0 ? "a denort runtime is at hand here" : undefined],
  () => {
    // Not a network trace: the file to fetch and the variable to set.
    assert.ok(offline, attempt.stderr);
    assert.match(
      attempt.stderr,
      /^compile: the denort runtime for Deno 2\.\d+\.\d+ cannot be downloaded/,
    );
    assert.match(attempt.stderr, /DENORT_BIN=\/path\/to\/denort/);
    assert.equal(attempt.stderr.trim().split("\n").length, 1, attempt.stderr);
  },
);
