import assert from "node:assert/strict";
import { type Executor, selectExecutor, specEnv } from "./executor.ts";
import { passwdEntry } from "../lib/plan/passwd.ts";
import type { Spec } from "../lib/spec/config.ts";
import { linuxExecutor } from "./linux.ts";
import { wasmExecutor } from "./wasm/executor.ts";

const spec: Spec = {
  ociVersion: "1.3.0",
  process: { cwd: "/", args: ["x"], env: ["B=2", "A=1", "PATH=/bin"] },
};

Deno.test("specEnv: exactly process.env in order, as a copy", () => {
  const env = specEnv(spec);
  assert.deepEqual(env, ["B=2", "A=1", "PATH=/bin"]);
  assert.deepEqual(specEnv({ ociVersion: "1.3.0" }), []);
  env.push("X=1");
  assert.deepEqual(spec.process?.env, ["B=2", "A=1", "PATH=/bin"], "a copy, not the spec's array");
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

Deno.test("handleEnvs: each executor's workload env ignores denki's own environment", () => {
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

Deno.test("selectExecutor: the first that can handle wins, cannot-handle falls through", () => {
  const make = (name: string, can: boolean): Executor => ({
    name,
    canHandle: () => can,
    validate: () => {},
    handleEnvs: specEnv,
    exec: () => Promise.reject(new Error("not run in this test")),
  });
  assert.equal(
    selectExecutor([make("wasm", false), make("linux", true)], spec, "/r")?.name,
    "linux",
  );
  assert.equal(selectExecutor([make("wasm", true), make("linux", true)], spec, "/r")?.name, "wasm");
  assert.equal(selectExecutor([make("wasm", false)], spec, "/r"), undefined);
});
