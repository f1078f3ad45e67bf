import assert from "node:assert/strict";
import { selectExecutor, specEnv } from "./executor.ts";
import type { Spec } from "./spec/config.ts";
import { fakeExecutor } from "./_fake_executor.ts";

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

Deno.test("selectExecutor: the first that can handle wins, cannot-handle falls through", () => {
  const make = (name: string, can: boolean) => fakeExecutor(name, () => can);
  assert.equal(
    selectExecutor([make("wasm", false), make("linux", true)], spec, "/r")?.name,
    "linux",
  );
  assert.equal(selectExecutor([make("wasm", true), make("linux", true)], spec, "/r")?.name, "wasm");
  assert.equal(selectExecutor([make("wasm", false)], spec, "/r"), undefined);
});

Deno.test("selectExecutor: each executor probes the spec and the rootfs it is given", () => {
  const seen: string[] = [];
  const probe = fakeExecutor("probe", (s, rootfs) => {
    seen.push(`${s.process?.args?.[0]}@${rootfs}`);
    return rootfs === "/bundle/rootfs";
  });
  assert.equal(selectExecutor([probe], spec, "/elsewhere"), undefined);
  assert.equal(selectExecutor([probe], spec, "/bundle/rootfs"), probe);
  assert.deepEqual(seen, ["x@/elsewhere", "x@/bundle/rootfs"]);
});
