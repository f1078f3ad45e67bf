import assert from "node:assert/strict";
import { FakeCgroupfs } from "../_fake_cgroupfs.ts";
import { parseLayout } from "../layout.ts";
import type { CgroupRecord } from "../record.ts";
import { CgroupTree } from "../tree.ts";
import { V1Driver } from "./driver.ts";

/** A v1 host in a temp dir: cpu and cpuacct mounted together, the others apart. */
function v1Host(self = "") {
  const fs = new FakeCgroupfs();
  const mountinfo = [
    fs.mountV1("cpu,cpuacct", ["cpu", "cpuacct"]),
    fs.mountV1("cpuset", ["cpuset"], { "cpuset.cpus": "0-1", "cpuset.mems": "0" }),
    fs.mountV1("memory", ["memory"]),
    fs.mountV1("pids", ["pids"]),
    fs.mountV1("devices", ["devices"]),
    fs.mountV1("freezer", ["freezer"]),
    fs.mountV1("systemd", ["name=systemd"]),
  ].join("\n");
  const layout = parseLayout(mountinfo, "", self);
  const rec: CgroupRecord = { path: "", mounts: {}, v1: {}, v2Controllers: [], created: [] };
  const tree = new CgroupTree(rec, fs);
  return { fs, layout, rec, tree, r: fs.root };
}

Deno.test("v1 driver: a directory per hierarchy, shared by co-mounted controllers", () => {
  const { fs, layout, rec, tree, r } = v1Host("3:cpuset:/\n4:memory:/job\n2:cpu,cpuacct:/t\n");
  try {
    Deno.mkdirSync(`${r}/memory/job`);
    Deno.mkdirSync(`${r}/cpu,cpuacct/t`);
    const shown = V1Driver.make(tree, layout.v1, "a/c1");
    // Below the caller's own cgroup in each hierarchy; memory's path names the cgroup.
    assert.equal(shown[0], "/job/a/c1");
    assert.equal(rec.v1.cpu, `${r}/cpu,cpuacct/t/a/c1`);
    assert.equal(rec.v1.cpuacct, rec.v1.cpu);
    assert.equal(rec.v1.memory, `${r}/memory/job/a/c1`);
    assert.equal(rec.v1["name=systemd"], `${r}/systemd/a/c1`);
    assert.equal(rec.mounts![rec.v1.memory!], `${r}/memory`);
    assert.ok(rec.created.includes(`${r}/memory/job/a`), "a parent denki made");
    assert.ok(!rec.created.includes(`${r}/memory/job`), "the caller's own cgroup is not");
    // Every level of a new cpuset gets its parent's CPUs and memory nodes.
    assert.equal(fs.read(`${r}/cpuset/a/cpuset.cpus`), "0-1");
    assert.equal(fs.read(`${r}/cpuset/a/c1/cpuset.mems`), "0");
    const v1 = new V1Driver(rec, fs);
    assert.equal(v1.dirs().length, 7);
    assert.deepEqual(v1.controllers().sort(), [
      "cpu",
      "cpuacct",
      "cpuset",
      "devices",
      "freezer",
      "memory",
      "pids",
    ]);
    // A process moves from the root into the container's directory in every hierarchy.
    fs.addProcess(`${r}/pids`, 42);
    v1.join(42);
    assert.equal(fs.read(`${r}/pids/a/c1/cgroup.procs`), "42\n");
    assert.equal(fs.read(`${r}/pids/cgroup.procs`), "");
    assert.equal(fs.writes.filter((w) => w.endsWith("cgroup.procs=42")).length, 7);
    assert.deepEqual(v1.pids(), [42]);
  } finally {
    fs.dispose();
  }
});

Deno.test("v1 driver: limits in v1's own files; memory and swap raised in the kernel's order", () => {
  const { fs, layout, rec, tree, r } = v1Host();
  try {
    V1Driver.make(tree, layout.v1, "/c1");
    const v1 = new V1Driver(rec, fs);
    const notes: string[] = [];
    const mem = `${r}/memory/c1`;
    const limits = () => fs.writes.filter((w) => w.includes("limit_in_bytes"));
    // Lowering both: memory first, as written.
    v1.write(v1.writes({ memory: { limit: 100, swap: 200 } }), notes);
    assert.deepEqual(limits(), [
      `${mem}/memory.limit_in_bytes=100`,
      `${mem}/memory.memsw.limit_in_bytes=200`,
    ]);
    // Raising both: memory above memory+swap is refused, so swap goes first, then memory.
    fs.writes.length = 0;
    v1.write(
      v1.writes({
        memory: { limit: 500_000_000, swap: 800_000_000, kernel: 1 },
        cpu: { shares: 512, cpus: "1" },
        pids: { limit: 0 },
      }),
      notes,
    );
    assert.deepEqual(limits(), [
      `${mem}/memory.memsw.limit_in_bytes=800000000`,
      `${mem}/memory.limit_in_bytes=500000000`,
    ]);
    assert.equal(fs.read(`${r}/cpu,cpuacct/c1/cpu.shares`), "512");
    assert.equal(fs.read(`${r}/cpuset/c1/cpuset.cpus`), "1");
    assert.equal(fs.read(`${r}/pids/c1/pids.max`), "max");
    // This kernel has no kernel-memory file: an optional setting, skipped with a note.
    assert.deepEqual(notes, [
      "linux.resources.memory.kernel ignored: this kernel has no memory.kmem.limit_in_bytes",
    ]);
    // A memory limit above memory+swap on its own is the kernel's refusal, named.
    assert.throws(
      () => v1.write(v1.writes({ memory: { limit: 900_000_000 } }), notes),
      /memory.limit: cannot write "900000000" to .*memory.limit_in_bytes: EINVAL/,
    );
    // A setting without a file here fails, naming the file and the value.
    assert.throws(
      () => v1.write(v1.writes({ memory: { kernelTCP: 5 } }), notes),
      /memory.kernelTCP: this kernel has no .*\/memory\/c1\/memory.kmem.tcp.limit_in_bytes to write "5" to/,
    );
    // A real-time budget the parent cannot cover gets a hint.
    fs.refuse.set("cpu.rt_runtime_us", 22);
    assert.throws(
      () => v1.write(v1.writes({ cpu: { realtimeRuntime: 5 } }), notes),
      /cpu.realtimeRuntime: cannot write "5" to .*cpu.rt_runtime_us: EINVAL .*\(the parent cgroup's cpu.rt_runtime_us must leave room for it\)/,
    );
    // A controller the container has no directory for.
    assert.throws(
      () => v1.write(v1.writes({ hugepageLimits: [{ pageSize: "2MB", limit: 1 }] }), notes),
      /the hugetlb cgroup controller is not available/,
    );
  } finally {
    fs.dispose();
  }
});

Deno.test("v1 driver: device rules as devices.deny/allow lines, deny all first", () => {
  const { fs, layout, rec, tree } = v1Host();
  try {
    V1Driver.make(tree, layout.v1, "/c1");
    const v1 = new V1Driver(rec, fs);
    const writes = v1.devices({
      devices: [{ allow: true, type: "c", major: 10, minor: 200, access: "rw" }],
    });
    v1.write(writes, []);
    const lines = fs.writes.filter((w) => w.includes("/devices/c1/"))
      .map((w) => w.slice(w.lastIndexOf("/") + 1));
    assert.deepEqual(lines.slice(0, 3), [
      "devices.deny=a",
      "devices.allow=c 10:200 rw",
      "devices.allow=c *:* m",
    ]);
    assert.ok(lines.includes("devices.allow=c 1:3 rwm"), "/dev/null is always allowed");
    assert.deepEqual(fs.programs, [], "no BPF on v1");
  } finally {
    fs.dispose();
  }
});

Deno.test("v1 driver: freezer.state, processes of child cgroups, OOM kills", () => {
  const { fs, layout, rec, tree, r } = v1Host();
  try {
    V1Driver.make(tree, layout.v1, "/c1");
    const v1 = new V1Driver(rec, fs);
    assert.equal(v1.freezerState(), "thawed");
    v1.requestFrozen(true);
    assert.equal(fs.read(`${r}/freezer/c1/freezer.state`), "FROZEN");
    assert.equal(v1.freezerState(), "frozen");
    v1.requestFrozen(false);
    assert.equal(v1.freezerState(), "thawed");
    // Listed from the pids hierarchy, nested cgroups included.
    fs.mkdir(`${r}/pids/c1/sub`);
    fs.addProcess(`${r}/pids/c1`, 12);
    fs.addProcess(`${r}/pids/c1/sub`, 11);
    fs.addProcess(`${r}/memory/c1`, 99);
    assert.deepEqual(v1.pids(), [11, 12]);
    Deno.writeTextFileSync(
      `${r}/memory/c1/memory.oom_control`,
      "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    );
    assert.equal(v1.oomKills(), 2);
    assert.deepEqual(v1.unsupported(), []);
    // Without a pids-like hierarchy it cannot tell: another driver is asked.
    const bare = new V1Driver({ ...rec, v1: { "name=systemd": `${r}/systemd/c1` } }, fs);
    assert.equal(bare.pids(), undefined);
    assert.throws(() => bare.requestFrozen(true), /the freezer cgroup controller is not available/);
    assert.equal(bare.freezerState(), "thawed");
  } finally {
    fs.dispose();
  }
});
