import assert from "node:assert/strict";
import { type Executor, selectExecutor, specEnv } from "./executor.ts";
import type { Spec } from "../lib/spec/config.ts";

const spec: Spec = {
  ociVersion: "1.3.0",
  process: { cwd: "/", args: ["x"], env: ["B=2", "A=1", "PATH=/bin"] },
};

Deno.test("specEnv: exactly process.env in order, never the caller's environment", () => {
  Deno.env.set("DENKI_TEST_SECRET", "leak");
  const env = specEnv(spec);
  assert.deepEqual(env, ["B=2", "A=1", "PATH=/bin"]);
  assert.ok(!env.some((e) => e.startsWith("DENKI_TEST_SECRET")));
  assert.deepEqual(specEnv({ ociVersion: "1.3.0" }), []);
  env.push("X=1");
  assert.deepEqual(spec.process?.env, ["B=2", "A=1", "PATH=/bin"], "a copy, not the spec's array");
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
