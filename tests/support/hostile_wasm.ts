/**
 * The Wasm cells of the hostile matrix (tests/support/hostile.ts): denki only, since runc has no
 * Wasm executor. A guest runs inside denki's own Deno process, so the container's filter is on
 * that process (installed just before the guest's Worker starts) and its rlimits are mapped
 * onto the guest (executors/wasm/limits.ts).
 */
import assert from "node:assert/strict";
import { freshId, readOr, type Runtime, type Scratch } from "../conformance/runtime.ts";
import { brief, type Hostile, marker, patch, recorded, why } from "./hostile.ts";

/** A Wasm check of the matrix: denki only (runc has no Wasm executor). */
export type WasmCheck = (rt: Runtime, s: Scratch, h: Hostile, probe: Uint8Array) => Promise<void>;

/** A bundle whose rootfs holds only the probe guest (tests/wasm/probe.c) at /probe.wasm. */
function wasmBundle(s: Scratch, h: Hostile, probe: Uint8Array, args: string[]) {
  const b = s.bundle(patch(s, h, ["/probe.wasm", ...args]));
  Deno.writeFileSync(`${b.rootfs}/probe.wasm`, probe);
  return b;
}

/** True when the profile lacks what denki's Wasm host needs to start the guest's thread. */
export function wasmCannotRun(h: Hostile): boolean {
  return h.profile === "tight";
}

/**
 * Foreground `run` of the probe: its arguments come back; under the tight rlimits, the guest
 * also finds RLIMIT_NOFILE 64 (its descriptors stop at 63).
 */
const wasmRun: WasmCheck = async (rt, s, h, probe) => {
  const mark = marker("wasm");
  const b = wasmBundle(s, h, probe, ["args", mark]);
  const r = await rt.run(["run", "--bundle", b.dir, freshId()]);
  assert.equal(r.stdout, `[/probe.wasm]\n[args]\n[${mark}]\n`, `run (${why(r)})`);
  assert.equal(r.code, 0, `run: ${why(r)}`);
  if (h.rlimits) {
    const many = wasmBundle(s, h, probe, ["openmany", "/probe.wasm"]);
    const m = await rt.run(["run", "--bundle", many.dir, freshId()]);
    assert.equal(
      m.stdout,
      "opened 60 (last fd 63), then: No file descriptors available\n",
      `openmany under RLIMIT_NOFILE 64 (${why(m)})`,
    );
  }
};

/** The seccomp mode and no_new_privs of each thread of `pid`, main thread first. */
function threads(pid: number): { tid: number; seccomp: string; nnp: string }[] {
  const out = [];
  for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
    const status = readOr(`/proc/${pid}/task/${e.name}/status`);
    out.push({
      tid: Number(e.name),
      seccomp: /^Seccomp:\s+(\d+)$/m.exec(status)?.[1] ?? "?",
      nnp: /^NoNewPrivs:\s+(\d+)$/m.exec(status)?.[1] ?? "?",
    });
  }
  return out.sort((a, b) => (a.tid === pid ? -1 : b.tid === pid ? 1 : a.tid - b.tid));
}

/**
 * create, start, state, kill, delete of a probe that leaves a marker and sleeps. The guest
 * cannot read /proc, so the configuration is read from the host while it runs: the process's
 * main thread and the guest's thread (started after the filter) carry the filter and
 * no_new_privs as configured.
 */
const wasmLifecycle: WasmCheck = async (rt, s, h, probe) => {
  const mark = marker("wasm-life");
  const b = wasmBundle(s, h, probe, ["mark", "/shared/wasm", mark, "60"]);
  const id = freshId();
  const c = await rt.run(["create", "--bundle", b.dir, id]);
  assert.equal(c.code, 0, `create: ${why(c)}`);
  assert.equal((await s.state(id)).status, "created");
  const start = await rt.run(["start", id]);
  assert.equal(start.code, 0, `start: ${why(start)}`);
  assert.equal(await recorded(s, "wasm", "start"), `${mark}\n`, "start: the guest's marker");
  const { pid, status } = await s.state(id);
  assert.equal(status, "running");
  const t = threads(pid);
  const mode = h.profile ? "2" : "0";
  assert.equal(t[0]!.seccomp, mode, "the Wasm host's main thread: Seccomp mode");
  assert.equal(t[0]!.nnp, h.nnp ? "1" : "0", "the Wasm host's main thread: NoNewPrivs");
  const filtered = t.slice(1).filter((x) => x.seccomp === "2");
  if (h.profile) assert.ok(filtered.length > 0, "no thread but the main one is filtered");
  else assert.deepEqual(filtered, [], "a thread is filtered without a profile");
  const kill = await rt.run(["kill", id, "TERM"]);
  assert.equal(kill.code, 0, `kill: ${why(kill)}`);
  await s.waitStatus(id, "stopped");
  const del = await rt.run(["delete", id]);
  assert.equal(del.code, 0, `delete: ${why(del)}`);
};

/**
 * Under a profile made for busybox (no clone3), denki's Wasm host cannot start the guest's
 * thread. Such a workload must not look like one that ran: `run` exits non-zero, the
 * container's stderr has one line naming the step, and the guest printed nothing.
 */
const wasmRefused: WasmCheck = async (rt, s, h, probe) => {
  const mark = marker("wasm");
  const b = wasmBundle(s, h, probe, ["args", mark]);
  const r = await rt.run(["run", "--bundle", b.dir, freshId()]);
  assert.notEqual(r.code, 0, "run exited 0 though the guest cannot run");
  assert.equal(r.stdout, "", "the guest printed something");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line of error: ${brief(r.stderr)}`);
  assert.match(lines[0]!, /^denki init: .*(wasm|worker|guest)/i, "the line names the step");
};

/** The Wasm checks of a configuration, by name. */
export function wasmChecks(h: Hostile): Record<string, WasmCheck> {
  if (wasmCannotRun(h)) return { "wasm run fails loudly": wasmRefused };
  return { "wasm run": wasmRun, "wasm lifecycle": wasmLifecycle };
}
