import assert from "node:assert/strict";
import { selectExecutor } from "../lib/executor.ts";
import { ExecutorRegistry } from "../lib/executor_registry.ts";
import { passwdEntry } from "../lib/plan/passwd.ts";
import type { Spec } from "../lib/spec/config.ts";
import { registerExecutors } from "./mod.ts";

const spec: Spec = {
  ociVersion: "1.3.0",
  process: { cwd: "/", args: ["x"], env: ["B=2", "A=1", "PATH=/bin"] },
};

function registered(): ExecutorRegistry {
  const registry = new ExecutorRegistry();
  registerExecutors(registry);
  return registry;
}

Deno.test("registerExecutors: Wasm then Linux, the catch-all last", async () => {
  const registry = registered();
  assert.deepEqual(registry.names, ["wasm", "linux"]);
  const [wasm, linux] = await registry.all();
  assert.equal(wasm?.name, "wasm");
  assert.equal(linux?.name, "linux");
  // What the lifecycle decides by: the Wasm host runs in the init's Deno and has a sandbox of
  // its own; the Linux executor has neither.
  assert.equal(wasm?.inProcess, true);
  assert.equal(wasm?.ownSandbox, true);
  assert.notEqual(linux?.inProcess, true);
  assert.notEqual(linux?.ownSandbox, true);
});

Deno.test("registerExecutors: a Wasm annotation selects Wasm, any other program Linux", async () => {
  const all = await registered().all();
  const root = Deno.makeTempDirSync();
  try {
    assert.equal(selectExecutor(all, spec, root)?.name, "linux");
    const wasm: Spec = { ...spec, annotations: { "run.oci.handler": "wasm" } };
    assert.equal(selectExecutor(all, wasm, root)?.name, "wasm");
    // A module found by magic bytes, without any annotation.
    Deno.writeFileSync(`${root}/x`, new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    assert.equal(
      selectExecutor(all, { ...spec, process: { ...spec.process!, args: ["/x"] } }, root)?.name,
      "wasm",
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

/** Runs `fn` with `vars` in this process's environment, restoring the previous values after. */
function withCallerEnv(vars: Record<string, string>, fn: () => void): void {
  const saved = Object.keys(vars).map((k) => [k, Deno.env.get(k)] as const);
  try {
    for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
    fn();
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
}

Deno.test("handleEnvs: each executor's workload env ignores denki's own environment", async () => {
  const linuxExecutor = await registered().get("linux");
  const wasmExecutor = await registered().get("wasm");
  // A uid without an entry in this machine's /etc/passwd: the Linux executor's HOME must be
  // runc's default "/", never the HOME denki itself was started with.
  const uid = 3_999_999;
  const text = Deno.readTextFileSync("/etc/passwd");
  assert.equal(passwdEntry(text, uid), undefined, `uid ${uid} is in /etc/passwd`);
  const noHome: Spec = { ...spec, process: { ...spec.process!, user: { uid, gid: uid } } };
  const withHome: Spec = { ...spec, process: { ...spec.process!, env: ["HOME=/w", "A=1"] } };
  const before = Deno.env.get("DENKI_TEST_SECRET");
  withCallerEnv({ HOME: "/denki-caller-home", DENKI_TEST_SECRET: "leak", A: "caller" }, () => {
    // Each executor's handleEnvs runs with the permission to read the environment here.
    assert.equal(Deno.env.get("DENKI_TEST_SECRET"), "leak");
    assert.deepEqual(linuxExecutor.handleEnvs(noHome), ["B=2", "A=1", "PATH=/bin", "HOME=/"]);
    assert.deepEqual(linuxExecutor.handleEnvs(withHome), ["HOME=/w", "A=1"]);
    assert.deepEqual(wasmExecutor.handleEnvs(noHome), ["B=2", "A=1", "PATH=/bin"]);
    assert.deepEqual(wasmExecutor.handleEnvs(withHome), ["HOME=/w", "A=1"]);
  });
  assert.equal(Deno.env.get("DENKI_TEST_SECRET"), before, "the environment is as it was");
});
