import assert from "node:assert/strict";
import { devicesProgram } from "../../plan/bpf_devices.ts";
import { deviceRules } from "../devices.ts";
import { FakeCgroupfs } from "../_fake_cgroupfs.ts";
import type { CgroupIo } from "../io.ts";
import { parseLayout } from "../layout.ts";
import type { CgroupRecord } from "../record.ts";
import { CgroupTree } from "../tree.ts";
import { V2Driver } from "./driver.ts";

const CONTROLLERS = ["cpu", "io", "memory", "pids", "hugetlb"];

/** A v2-only host in a temp dir; the caller sits in /user/session. */
function v2Host(controllers = CONTROLLERS) {
  const fs = new FakeCgroupfs();
  const line = fs.mountV2("unified", controllers);
  const layout = parseLayout(line, controllers.join(" "), "0::/user/session\n");
  const rec: CgroupRecord = { path: "", mounts: {}, v1: {}, v2Controllers: [], created: [] };
  const mount = `${fs.root}/unified`;
  fs.mkdir(`${mount}/user`);
  fs.mkdir(`${mount}/user/session`);
  return { fs, layout, rec, tree: new CgroupTree(rec, fs), mount };
}

Deno.test("v2 driver: placed below the caller's parent (v2-only) or at the top (hybrid)", () => {
  const { fs, layout, rec, tree, mount } = v2Host();
  try {
    assert.equal(V2Driver.make(tree, layout.unified!, "c1", false), "/user/c1");
    assert.equal(rec.v2, `${mount}/user/c1`);
    assert.equal(rec.mounts![rec.v2!], mount);
    assert.deepEqual(rec.v2Controllers, ["cpu", "hugetlb", "io", "memory", "pids"]);
    // On a hybrid host v1's controllers stay with v1, and a relative path goes to the top.
    const hybrid: CgroupRecord = {
      path: "",
      mounts: {},
      v1: { memory: "/elsewhere/memory/c2", pids: "/elsewhere/pids/c2" },
      v2Controllers: [],
      created: [],
    };
    assert.equal(V2Driver.make(new CgroupTree(hybrid, fs), layout.unified!, "c2", true), "/c2");
    assert.equal(hybrid.v2, `${mount}/c2`);
    assert.deepEqual(hybrid.v2Controllers, ["cpu", "hugetlb", "io"]);
    const v2 = new V2Driver(hybrid, fs);
    assert.ok(v2.hasController("cgroup"), "core files need no controller");
    assert.ok(v2.hasController("hugetlb") && !v2.hasController("memory"));
  } finally {
    fs.dispose();
  }
});

Deno.test("v2 driver: controllers enabled down the tree, then v2 files in v2's scales", () => {
  const { fs, layout, rec, tree, mount } = v2Host();
  try {
    V2Driver.make(tree, layout.unified!, "/pod/c1", false);
    const v2 = new V2Driver(rec, fs);
    const leaf = `${mount}/pod/c1`;
    assert.equal(fs.exists(`${leaf}/memory.max`), false, "no controller files before enabling");
    const notes: string[] = [];
    v2.write(
      v2.writes({
        memory: { limit: 1000, swap: 3000 },
        cpu: { shares: 1024, quota: 50000, period: 100000 },
        pids: { limit: 7 },
        unified: { "cgroup.max.depth": "2" },
      }),
      notes,
    );
    assert.deepEqual(notes, []);
    assert.equal(fs.read(`${mount}/cgroup.subtree_control`), "memory cpu pids");
    assert.equal(fs.read(`${mount}/pod/cgroup.subtree_control`), "memory cpu pids");
    assert.equal(fs.read(`${leaf}/cgroup.subtree_control`), "", "the leaf hands nothing down");
    // memory.swap.max is swap alone: the spec's memory+swap less the limit.
    assert.equal(fs.read(`${leaf}/memory.swap.max`), "2000");
    assert.equal(fs.read(`${leaf}/memory.max`), "1000");
    assert.equal(fs.read(`${leaf}/cpu.weight`), "39");
    assert.equal(fs.read(`${leaf}/cpu.max`), "50000 100000");
    assert.equal(fs.read(`${leaf}/pids.max`), "7");
    assert.equal(fs.read(`${leaf}/cgroup.max.depth`), "2");
    // Enabled once: a second write finds the controller in the leaf's cgroup.controllers.
    const enables = fs.writes.filter((w) => w.includes("subtree_control")).length;
    v2.write(v2.writes({ memory: { limit: 2000 } }), notes);
    assert.equal(fs.writes.filter((w) => w.includes("subtree_control")).length, enables);
    // v1-only settings are named for the warning the caller prints.
    assert.deepEqual(v2.unsupported({ memory: { swappiness: 1, kernel: 1 } }), [
      "memory.kernel",
      "memory.swappiness",
    ]);
    // io.bfq.weight is optional: a kernel without BFQ skips it with a note.
    v2.write(v2.writes({ blockIO: { weight: 500 } }), notes);
    assert.deepEqual(notes, [
      "linux.resources.blockIO.weight ignored: this kernel has no io.bfq.weight",
    ]);
    assert.equal(fs.read(`${leaf}/io.weight`), "default 4950");
    assert.throws(() => v2.writes({ cpu: { realtimeRuntime: 1 } }), /no real-time CPU/);
    assert.throws(
      () => v2.writes({ memory: { swap: 10 } }),
      /under cgroup v2 a swap limit needs a memory limit too/,
    );
  } finally {
    fs.dispose();
  }
});

Deno.test("v2 driver: a controller the root does not offer cannot be enabled", () => {
  const { fs, layout, rec, tree } = v2Host(["pids"]);
  try {
    V2Driver.make(tree, layout.unified!, "/c1", false);
    const v2 = new V2Driver(rec, fs);
    assert.throws(
      () => v2.write(v2.writes({ memory: { limit: 5 } }), []),
      /cannot write "\+memory" to .*\/unified\/cgroup.subtree_control: ENOENT/,
    );
  } finally {
    fs.dispose();
  }
});

Deno.test("v2 driver: an exec'd process joins beside the init where the leaf refuses members", () => {
  const { fs, layout, rec, tree, mount } = v2Host();
  try {
    V2Driver.make(tree, layout.unified!, "/c1", false);
    const v2 = new V2Driver(rec, fs);
    const leaf = `${mount}/c1`;
    v2.join(10);
    assert.deepEqual(v2.pids(), [10]);
    // Like systemd in the container: the init moves to a child, and the leaf delegates.
    fs.mkdir(`${leaf}/init.scope`);
    fs.write(`${leaf}/init.scope/cgroup.procs`, "10");
    fs.write(`${mount}/cgroup.subtree_control`, "+pids");
    fs.write(`${leaf}/cgroup.subtree_control`, "+pids");
    assert.throws(() => v2.join(11), /cgroup.procs: EBUSY/);
    fs.proc.set("/proc/10/cgroup", "0::/c1/init.scope\n");
    v2.joinBeside(11, 10);
    assert.equal(fs.read(`${leaf}/init.scope/cgroup.procs`), "10\n11\n");
    assert.deepEqual(v2.pids(), [10, 11]);
    // Never outside the container's own cgroup.
    fs.proc.set("/proc/10/cgroup", "0::/elsewhere\n");
    assert.throws(() => v2.joinBeside(12, 10), /EBUSY/);
    fs.proc.set("/proc/10/cgroup", "0::/c1\n");
    assert.throws(() => v2.joinBeside(12, 10), /EBUSY/, "the leaf itself is not beside it");
  } finally {
    fs.dispose();
  }
});

Deno.test("v2 driver: device rules as a BPF program on the directory, no writes", () => {
  const { fs, layout, rec, tree, mount } = v2Host();
  try {
    V2Driver.make(tree, layout.unified!, "/c1", false);
    const v2 = new V2Driver(rec, fs);
    const r = { devices: [{ allow: true, type: "c" as const, major: 10, minor: 200 }] };
    assert.deepEqual(v2.devices(r), []);
    assert.equal(fs.programs.length, 1);
    assert.equal(fs.programs[0]!.dir, `${mount}/c1`);
    assert.deepEqual(fs.programs[0]!.program, devicesProgram(deviceRules(r)));
    assert.deepEqual(fs.writes, [`${mount}/c1=<BPF>`], "no file written");
    // An io that cannot take programs (a dry run) refuses rather than skipping the rules.
    const noBpf: CgroupIo = {
      read: (p) => fs.read(p),
      write: (p, v) => fs.write(p, v),
      mkdir: (p) => fs.mkdir(p),
      rmdir: (p) => fs.rmdir(p),
      exists: (p) => fs.exists(p),
      children: (p) => fs.children(p),
    };
    const dry = new V2Driver(rec, noBpf);
    assert.throws(() => dry.devices(r), /cannot attach the device filter to .*\/c1: no BPF here/);
  } finally {
    fs.dispose();
  }
});

Deno.test("v2 driver: cgroup.freeze, frozen once cgroup.events says so; OOM kills", () => {
  const { fs, layout, rec, tree, mount } = v2Host();
  try {
    V2Driver.make(tree, layout.unified!, "/c1", false);
    const v2 = new V2Driver(rec, fs);
    const leaf = `${mount}/c1`;
    assert.equal(v2.freezerState(), "thawed");
    v2.requestFrozen(true);
    assert.equal(fs.read(`${leaf}/cgroup.freeze`), "1");
    assert.equal(v2.freezerState(), "frozen");
    // Asked but not yet taken hold (a task stuck in the kernel).
    Deno.writeTextFileSync(`${leaf}/cgroup.events`, "populated 1\nfrozen 0\n");
    assert.equal(v2.freezerState(), "freezing");
    v2.requestFrozen(false);
    assert.equal(v2.freezerState(), "thawed");
    assert.equal(v2.oomKills(), 0, "no memory controller yet: no memory.events");
    v2.write(v2.writes({ memory: { limit: 1 << 20 } }), []);
    Deno.writeTextFileSync(`${leaf}/memory.events`, "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
    assert.equal(v2.oomKills(), 1);
  } finally {
    fs.dispose();
  }
});
