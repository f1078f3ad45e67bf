import assert from "node:assert/strict";
import { MS, parseMountOptions } from "../plan/mount_options.ts";
import { Data, Script, Slot } from "../spawn/script.ts";
import type { Spec } from "../spec/config.ts";
import { defaultSpec } from "../spec/default.ts";
import { idmapProblems } from "./idmap.ts";
import { planMounts } from "./mounts.ts";
import { Emit } from "./native/emit.ts";
import { mountOne } from "./native/mounts.ts";
import type { NativePlan, PlannedMount } from "./native/plan.ts";

const MAP = [{ containerID: 1000, hostID: 0, size: 1 }];
const MAPS = { uidMappings: MAP, gidMappings: MAP };
const ROOT = { root: true, denoInit: () => undefined };

function spec(mounts: NonNullable<Spec["mounts"]>, userns = false): Spec {
  const s = defaultSpec({ rootless: false, uid: 0, gid: 0 });
  s.mounts = mounts;
  if (userns) {
    s.linux!.namespaces!.push({ type: "user" });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  }
  return s;
}

Deno.test("idmap options: idmap and ridmap are never mount(2) data", () => {
  const o = parseMountOptions(["rbind", "ridmap", "ro"]);
  assert.deepEqual(o.idmap, { recursive: true });
  assert.deepEqual(o.data, []);
  assert.equal(o.flags, MS.RDONLY);
  assert.deepEqual(parseMountOptions(["bind", "idmap"]).idmap, { recursive: false });
  assert.equal(parseMountOptions(["bind"]).idmap, undefined);
});

Deno.test("idmap plan: options and mappings make an idmapped mount; mappings alone idmap the top", () => {
  const [a, b, c] = planMounts([
    { destination: "/a", source: "/x", options: ["rbind", "ridmap"] },
    { destination: "/b", source: "/x", options: ["rbind"], uidMappings: MAP, gidMappings: MAP },
    { destination: "/c", source: "/x", options: ["bind"] },
  ], "/bundle");
  assert.deepEqual(a!.idmap, { recursive: true });
  assert.deepEqual(b!.idmap, { recursive: false, uidMappings: MAP, gidMappings: MAP });
  assert.ok(b!.recursive, "the copy is still of the whole rbind");
  assert.equal(c!.idmap, undefined);
});

Deno.test("idmap problems: none without idmapped mounts (nothing else asked)", () => {
  let asked = false;
  const ctx = { root: false, denoInit: () => (asked = true, "x") };
  assert.deepEqual(idmapProblems(spec([{ destination: "/a", source: "/x" }]), ctx), []);
  assert.equal(asked, false);
});

Deno.test("idmap problems: a good bind with maps, or with the container's namespace, passes", () => {
  const own = { destination: "/a", source: "/x", options: ["bind", "idmap"] };
  assert.deepEqual(idmapProblems(spec([{ ...own, uidMappings: MAP, gidMappings: MAP }]), ROOT), []);
  assert.deepEqual(idmapProblems(spec([own], true), ROOT), []);
});

Deno.test("idmap problems: each refusal is one line naming the mount", () => {
  const bind = { destination: "/a", source: "/x", options: ["bind", "idmap"] };
  const mapped = { ...bind, uidMappings: MAP, gidMappings: MAP };
  assert.deepEqual(idmapProblems(spec([mapped]), { root: false, denoInit: () => undefined }), [
    "mounts[0]: idmapped mounts need root (only the host's root may idmap a host file system)",
  ]);
  assert.deepEqual(idmapProblems(spec([mapped]), { root: true, denoInit: () => "hooks" }), [
    "mounts[0]: idmapped mounts need denki's native init, which this container cannot have (hooks)",
  ]);
  assert.deepEqual(
    idmapProblems(
      spec([{ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["idmap"], ...MAPS }]),
      ROOT,
    ),
    ['mounts[0]: only bind mounts can be idmapped, not type "tmpfs"'],
  );
  assert.deepEqual(idmapProblems(spec([bind]), ROOT), [
    "mounts[0]: idmap without uidMappings and gidMappings needs a user namespace",
  ]);
  const bad = [{ containerID: 0, hostID: 0, size: 0 }];
  const problems = idmapProblems(spec([{ ...bind, uidMappings: bad, gidMappings: MAP }]), ROOT);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^mounts\[0\]\.uidMappings\[0\]: size must be at least 1/);
});

Deno.test("idmap init steps: the inherited copy is moved onto the destination, then its flags", () => {
  const s = new Script("x86_64");
  const e = new Emit(s, "denki init");
  const root = s.slot();
  const m: PlannedMount = {
    ...planMounts([{ destination: "/data", source: "/x", options: ["bind", "idmap", "ro"] }], "/")[
      0
    ]!,
    at: "/data",
    sourceIsDir: true,
    idmapTree: 42,
  };
  mountOne(e, root, m, {} as NativePlan);
  const calls = s.steps.filter((st) => st.op === "syscall").map((st) => st.call);
  assert.ok(!calls.includes("mount"), "no mount(2): the copy is already made and idmapped");
  const move = s.steps.find((st) => st.call === "move_mount")!;
  assert.equal(move.args[0], 42);
  assert.ok(move.args[1] instanceof Data && move.args[2] instanceof Slot);
  assert.equal(move.args[4], 0x44, "MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH");
  const moved = s.steps.indexOf(move);
  const closed = s.steps.findIndex((st) => st.call === "close" && st.args[0] === 42);
  const ro = s.steps.findIndex((st) => st.call === "mount_setattr");
  assert.ok(moved < closed && closed < ro, "moved, its fd closed, then made read-only");
});
