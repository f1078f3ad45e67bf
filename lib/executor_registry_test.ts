import assert from "node:assert/strict";
import { type Executor, selectExecutor } from "./executor.ts";
import { ExecutorRegistry } from "./executor_registry.ts";
import { DenkiError } from "./errors.ts";
import type { Spec } from "./spec/config.ts";
import { fakeExecutor } from "./_fake_executor.ts";

const spec: Spec = { ociVersion: "1.3.0", process: { cwd: "/", args: ["x"] } };

/** A registry of fakes that records which executors were loaded, in order. */
function recording(executors: Executor[]) {
  const loads: string[] = [];
  const registry = new ExecutorRegistry();
  for (const e of executors) {
    registry.register({
      name: e.name,
      load: () => {
        loads.push(e.name);
        return Promise.resolve(e);
      },
    });
  }
  return { registry, loads };
}

Deno.test("ExecutorRegistry: registering loads nothing; all() loads every one, in order", async () => {
  const first = fakeExecutor("first", () => false);
  const second = fakeExecutor("second", () => true);
  const { registry, loads } = recording([first, second]);
  assert.deepEqual(registry.names, ["first", "second"]);
  assert.deepEqual(loads, [], "nothing loaded by registering");
  const all = await registry.all();
  assert.deepEqual(all, [first, second]);
  assert.deepEqual(loads, ["first", "second"]);
  assert.equal(selectExecutor(all, spec, "/r"), second, "a registered fake is selectable");
});

Deno.test("ExecutorRegistry: get() loads only the named executor, once", async () => {
  const { registry, loads } = recording([
    fakeExecutor("wasm", () => true),
    fakeExecutor("linux", () => true),
  ]);
  const linux = await registry.get("linux");
  assert.equal(linux.name, "linux");
  assert.deepEqual(loads, ["linux"], "the other executor's code is never read");
  assert.equal(await registry.get("linux"), linux);
  await registry.all();
  assert.deepEqual(loads, ["linux", "wasm"], "each module loads at most once");
});

Deno.test("ExecutorRegistry: an unknown name is a DenkiError naming it and the known ones", async () => {
  const { registry, loads } = recording([
    fakeExecutor("wasm", () => true),
    fakeExecutor("linux", () => true),
  ]);
  await assert.rejects(
    registry.get("vm"),
    (err: unknown) =>
      err instanceof DenkiError &&
      err.message === 'cannot find executor "vm": registered are wasm, linux',
  );
  assert.deepEqual(loads, []);
});

Deno.test("ExecutorRegistry: a name registered twice or empty is refused", () => {
  const { registry } = recording([fakeExecutor("wasm", () => true)]);
  const entry = (name: string) => ({
    name,
    load: () => Promise.resolve(fakeExecutor(name, () => true)),
  });
  assert.throws(() => registry.register(entry("wasm")), /register executor "wasm"/);
  assert.throws(() => registry.register(entry("")), /register executor ""/);
  assert.deepEqual(registry.names, ["wasm"]);
});

Deno.test("ExecutorRegistry: an entry whose executor has another name fails to load", async () => {
  const registry = new ExecutorRegistry();
  registry.register({
    name: "wasm",
    load: () => Promise.resolve(fakeExecutor("linux", () => true)),
  });
  await assert.rejects(
    registry.get("wasm"),
    /load executor "wasm": it calls itself "linux"/,
  );
  await assert.rejects(registry.all(), /it calls itself "linux"/);
});

Deno.test("ExecutorRegistry: the annotations that choose executors are known without loading them", () => {
  const registry = new ExecutorRegistry();
  const load = () => Promise.reject(new Error("must not load"));
  registry.register({ name: "a", annotations: ["x.handler", "x.variant"], load });
  registry.register({ name: "b", load });
  registry.register({ name: "c", annotations: ["c.kind"], load });
  assert.deepEqual(registry.annotations, ["x.handler", "x.variant", "c.kind"]);
});
