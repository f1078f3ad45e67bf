/**
 * The hostile matrix (issue 12): the lifecycle, `run`, `exec` and Wasm checks of
 * tests/support/hostile.ts under every hostile configuration (strict allowlist seccomp profiles
 * with and without no_new_privs, tight rlimits, and their combinations), each cell its own test
 * named `hostile matrix: <configuration>: <check>: <runtime>`. The Linux cells run on runc too,
 * with the same bundles and commands, so a failure runc shares is told apart from a denki bug.
 * Every cell reads back what the workload itself printed.
 */
import { CONTAINER_REQS } from "./support/container.ts";
import { CONFIGS, hostileReqs, LINUX_CHECKS } from "./support/hostile.ts";
import { wasmChecks } from "./support/hostile_wasm.ts";
import { program, type Requirement, root, testWith } from "./support/requires.ts";
import { makeRuntime, withScratch } from "./conformance/runtime.ts";
import { compile, missingTools } from "./wasi/build.ts";

const roots = Deno.makeTempDirSync({ prefix: "denki-matrix-" });
globalThis.addEventListener("unload", () => Deno.removeSync(roots, { recursive: true }));
const denki = makeRuntime("denki", `${roots}/denki`);
const runc = makeRuntime("runc", `${roots}/runc`, "runc");
const wasmTools: Requirement = missingTools();

let probe: Uint8Array | undefined;
/** The probe guest (tests/wasm/probe.c), built on first use. */
function probeModule(): Uint8Array {
  probe ??= Deno.readFileSync(compile(new URL("./wasm/probe.c", import.meta.url).pathname));
  return probe;
}

for (const h of CONFIGS) {
  for (const [check, fn] of Object.entries(LINUX_CHECKS)) {
    for (const rt of [denki, runc]) {
      const reqs = [...CONTAINER_REQS, ...hostileReqs(h)];
      if (rt === runc) reqs.push(program("runc"));
      testWith(
        `hostile matrix: ${h.name}: ${check}: ${rt.name}`,
        reqs,
        () => withScratch(rt, (s) => fn(rt, s, h)),
      );
    }
  }
  for (const [check, fn] of Object.entries(wasmChecks(h))) {
    testWith(
      `hostile matrix: ${h.name}: ${check}: denki`,
      [root(), wasmTools, ...hostileReqs(h)],
      () => withScratch(denki, (s) => fn(denki, s, h, probeModule())),
    );
  }
}
