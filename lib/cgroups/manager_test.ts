import assert from "node:assert/strict";
import { FakeCgroupfs } from "./_fake_cgroupfs.ts";
import { parseLayout } from "./layout.ts";
import { Cgroup, type CgroupRecord } from "./manager.ts";
import { MemoryParentBook } from "./parents.ts";
import { collectStats, toJson } from "./stats.ts";

/** A hybrid host in a temp dir: v1 has `v1` (and name=systemd), cgroup2 offers `v2`. */
function hybridHost(v1: string[], v2: string[]) {
  const fs = new FakeCgroupfs();
  const lines = v1.map((c) =>
    fs.mountV1(c, [c], c === "cpuset" ? { "cpuset.cpus": "0-1", "cpuset.mems": "0" } : {})
  );
  lines.push(fs.mountV1("systemd", ["name=systemd"]), fs.mountV2("unified", v2));
  const layout = parseLayout(lines.join("\n"), v2.join(" "));
  return { fs, layout, r: fs.root, u: `${fs.root}/unified` };
}

const ALL_V1 = ["cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer", "blkio"];

Deno.test("hybrid: v1 serves the controllers it has, v2 the rest, each in its own form", () => {
  const { fs, layout, r, u } = hybridHost(ALL_V1, ["hugetlb"]);
  try {
    const cg = Cgroup.create(layout, "/k8s/c1", fs);
    assert.deepEqual(cg.drivers.map((d) => d.version), [1, 2]);
    assert.deepEqual(cg.rec.v2Controllers, ["hugetlb"]);
    const notes = cg.apply({
      memory: { limit: 1 << 30 },
      cpu: { shares: 512 },
      pids: { limit: 5 },
      hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }],
      unified: { "cgroup.max.depth": "3" },
    }, { devices: true });
    assert.deepEqual(notes, []);
    const at = (w: string) => fs.writes.indexOf(w);
    // v1's files with the spec's numbers; nothing of memory, cpu or pids in v2.
    const memory = at(`${r}/memory/k8s/c1/memory.limit_in_bytes=1073741824`);
    assert.ok(memory >= 0);
    assert.ok(at(`${r}/cpu/k8s/c1/cpu.shares=512`) > memory);
    assert.ok(at(`${r}/pids/k8s/c1/pids.max=5`) > memory);
    assert.ok(!fs.writes.some((w) => w.startsWith(u) && /(memory|cpu|pids)\./.test(w)));
    // hugetlb is v2's here: enabled from the root down, written after v1's settings.
    const hugetlb = at(`${u}/k8s/c1/hugetlb.2MB.max=2097152`);
    assert.ok(at(`${u}/cgroup.subtree_control=+hugetlb`) > memory);
    assert.ok(hugetlb > at(`${u}/k8s/cgroup.subtree_control=+hugetlb`));
    assert.ok(at(`${u}/k8s/c1/cgroup.max.depth=3`) > hugetlb, "a core file: v2's");
    // Device rules go to v1's devices controller, last; no BPF program.
    assert.ok(at(`${r}/devices/k8s/c1/devices.deny=a`) > hugetlb);
    assert.deepEqual(fs.programs, []);
    // A raw v2 file of a controller v1 has is refused; one nobody has too.
    assert.throws(
      () => cg.apply({ unified: { "memory.high": "1" } }, { devices: false }),
      /linux.resources.unified.memory.high: the memory controller is on cgroup v1 here/,
    );
    assert.throws(
      () => cg.apply({ network: { classID: 1 } }, { devices: false }),
      /network.classID: the net_cls cgroup controller is not available on this host/,
    );
    // Processes are listed from v1's pids hierarchy.
    fs.addProcess(`${r}/pids/k8s/c1`, 7);
    fs.addProcess(`${u}/k8s/c1`, 8);
    assert.deepEqual(cg.pids(), [7]);
  } finally {
    fs.dispose();
  }
});

Deno.test("hybrid: freezer and OOM count from v1 where it has them, else from v2", async () => {
  const both = hybridHost(ALL_V1, ["hugetlb"]);
  const bare = hybridHost(["cpuacct"], ["hugetlb"]);
  try {
    const cg = Cgroup.create(both.layout, "/c1", both.fs);
    await cg.freeze();
    assert.equal(both.fs.read(`${both.r}/freezer/c1/freezer.state`), "FROZEN");
    assert.equal(both.fs.read(`${both.u}/c1/cgroup.freeze`), "0", "v2's freezer untouched");
    assert.equal(cg.freezerState(), "frozen");
    await cg.thaw();
    Deno.writeTextFileSync(`${both.r}/memory/c1/memory.oom_control`, "oom_kill 3\n");
    assert.equal(cg.oomKills(), 3);

    // v1 without freezer, devices, memory or a hierarchy to list processes from.
    const cg2 = Cgroup.create(bare.layout, "/c2", bare.fs);
    await cg2.freeze();
    assert.equal(bare.fs.read(`${bare.u}/c2/cgroup.freeze`), "1");
    assert.equal(cg2.freezerState(), "frozen");
    await cg2.thaw();
    assert.equal(cg2.freezerState(), "thawed");
    cg2.apply({}, { devices: true });
    assert.equal(bare.fs.programs.length, 1, "v2's BPF program in place of a devices controller");
    assert.equal(bare.fs.programs[0]!.dir, `${bare.u}/c2`);
    bare.fs.addProcess(`${bare.u}/c2`, 9);
    bare.fs.addProcess(`${bare.r}/cpuacct/c2`, 9);
    assert.deepEqual(cg2.pids(), [9]);
    assert.equal(cg2.oomKills(), 0);
  } finally {
    both.fs.dispose();
    bare.fs.dispose();
  }
});

Deno.test("hybrid: a cgroup2 mount with no controllers takes no limits, only core files", () => {
  const { fs, layout, u } = hybridHost(["memory", "pids"], []);
  try {
    const cg = Cgroup.create(layout, "/c1", fs);
    assert.deepEqual(cg.rec.v2Controllers, []);
    assert.throws(
      () => cg.apply({ hugepageLimits: [{ pageSize: "2MB", limit: 1 }] }, { devices: false }),
      /the hugetlb cgroup controller is not available on this host/,
    );
    // Its core files (cgroup.*) need no controller.
    assert.deepEqual(cg.apply({ unified: { "cgroup.max.depth": "1" } }, { devices: false }), []);
    assert.equal(fs.read(`${u}/c1/cgroup.max.depth`), "1");
    assert.throws(
      () => cg.apply({ unified: { "memory.high": "1" } }, { devices: false }),
      /unified.memory.high: the memory controller is on cgroup v1 here/,
    );
    assert.deepEqual(cg.apply({ memory: { swappiness: 5 } }, { devices: false }), []);
  } finally {
    fs.dispose();
  }
});

Deno.test("v2-only host: every limit is v2's, with warnings for what v2 lacks", () => {
  const fs = new FakeCgroupfs();
  try {
    const layout = parseLayout(fs.mountV2("cg", ["memory", "pids"]), "memory pids");
    const cg = Cgroup.create(layout, "/c1", fs);
    assert.deepEqual(cg.drivers.map((d) => d.version), [2]);
    const notes = cg.apply({ memory: { limit: 100, swappiness: 3 }, pids: { limit: 2 } }, {
      devices: true,
    });
    assert.deepEqual(notes, [
      "linux.resources.memory.swappiness ignored: cgroup v2 has no such setting",
    ]);
    assert.equal(fs.read(`${fs.root}/cg/c1/memory.max`), "100");
    assert.equal(fs.programs.length, 1);
    // The BPF program goes on before the limits are written.
    assert.equal(fs.writes.indexOf(`${fs.root}/cg/c1=<BPF>`), 0);
    assert.equal(fs.writes.at(-1), `${fs.root}/cg/c1/pids.max=2`);
    assert.throws(
      () => cg.apply({ hugepageLimits: [{ pageSize: "2MB", limit: 1 }] }, { devices: false }),
      /hugetlb cgroup controller is not available/,
    );
  } finally {
    fs.dispose();
  }
});

Deno.test("stats: each section from v1 where it has the controller, else from v2", () => {
  const { fs, layout, r, u } = hybridHost(["cpu", "memory", "pids"], ["hugetlb", "io"]);
  try {
    const cg = Cgroup.create(layout, "/c1", fs);
    cg.apply({ hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }] }, { devices: false });
    cg.apply({ blockIO: { weight: 100 } }, { devices: false });
    Deno.writeTextFileSync(`${r}/memory/c1/memory.stat`, "cache 4096\n");
    Deno.writeTextFileSync(`${r}/cpu/c1/cpu.stat`, "nr_periods 4\nnr_throttled 1\n");
    Deno.writeTextFileSync(`${u}/c1/cpu.stat`, "usage_usec 5\nnr_periods 99\n");
    Deno.writeTextFileSync(`${u}/c1/hugetlb.2MB.current`, "2097152\n");
    Deno.writeTextFileSync(`${u}/c1/io.stat`, "8:0 rbytes=10 wbytes=0 rios=1 wios=0\n");
    fs.addProcess(`${r}/pids/c1`, 5);
    Deno.writeTextFileSync(`${r}/pids/c1/pids.current`, "1\n");
    const s = JSON.parse(toJson(collectStats(cg, ["2MB"])));
    assert.equal(s.memory.cache, 4096, "v1's memory.stat");
    assert.deepEqual(s.pids, { current: 1 });
    // No cpuacct on v1: usage is v2's; throttling is v1's cpu controller's.
    assert.deepEqual(s.cpu, {
      usage: { total: 5000, kernel: 0, user: 0 },
      throttling: { periods: 4, throttledPeriods: 1 },
    });
    assert.deepEqual(s.hugetlb, { "2MB": { usage: 2097152, failcnt: 0 } });
    assert.deepEqual(s.blkio.ioServicedRecursive, [
      { major: 8, op: "Read", value: 1 },
      { major: 8, op: "Write" },
    ]);
    assert.equal(s.cpuset.cpus, undefined, "no cpuset anywhere: the struct of zeros");
  } finally {
    fs.dispose();
  }
});

Deno.test("stats: with v1's cpuacct but no cpu hierarchy, usage is v1's and throttling zero", () => {
  const { fs, layout, r, u } = hybridHost(["cpuacct"], ["hugetlb"]);
  try {
    const cg = Cgroup.create(layout, "/c1", fs);
    Deno.writeTextFileSync(`${r}/cpuacct/c1/cpuacct.usage`, "77\n");
    Deno.writeTextFileSync(`${u}/c1/cpu.stat`, "usage_usec 5\nnr_periods 99\n");
    assert.deepEqual(JSON.parse(toJson(collectStats(cg, []))).cpu, {
      usage: { total: 77, percpu: [0, 0], kernel: 0, user: 0 },
      throttling: {},
    });
  } finally {
    fs.dispose();
  }
});

Deno.test("records: the format state.json keeps, and older records still load and delete", async () => {
  const { fs, layout, r, u } = hybridHost(["memory", "pids"], ["hugetlb"]);
  try {
    Deno.mkdirSync(`${r}/memory/k8s`);
    const cg = Cgroup.create(layout, "/k8s/c1", fs);
    const json = JSON.stringify(cg.rec).replaceAll(r, "R");
    assert.equal(
      json,
      '{"path":"/k8s/c1","mounts":{"R/memory/k8s/c1":"R/memory","R/pids/k8s/c1":"R/pids",' +
        '"R/systemd/k8s/c1":"R/systemd","R/unified/k8s/c1":"R/unified"},' +
        '"v1":{"memory":"R/memory/k8s/c1","pids":"R/pids/k8s/c1",' +
        '"name=systemd":"R/systemd/k8s/c1"},"v2Controllers":["hugetlb"],' +
        '"created":["R/memory/k8s/c1","R/pids/k8s","R/pids/k8s/c1","R/systemd/k8s",' +
        '"R/systemd/k8s/c1","R/unified/k8s","R/unified/k8s/c1"],"v2":"R/unified/k8s/c1"}',
    );
    // A record from before `mounts`: the same path in every hierarchy.
    const old: CgroupRecord = JSON.parse(JSON.stringify(cg.rec));
    delete old.mounts;
    const loaded = new Cgroup(old, fs);
    assert.deepEqual(loaded.dirs(), cg.dirs());
    fs.addProcess(`${r}/pids/k8s/c1`, 3);
    assert.deepEqual(loaded.pids(), [3]);
    Deno.writeTextFileSync(`${r}/pids/k8s/c1/cgroup.procs`, "");
    await loaded.remove();
    for (const dir of cg.rec.created) assert.equal(fs.exists(dir), false, dir);
    assert.ok(fs.exists(`${r}/memory/k8s`), "a parent denki did not make stays");
    assert.ok(fs.exists(`${u}/cgroup.procs`));
  } finally {
    fs.dispose();
  }
});

Deno.test("create: nothing mounted is refused; a failed create removes only what it made", () => {
  const { fs, layout, r } = hybridHost(["memory", "cpuset"], []);
  try {
    assert.throws(
      () => Cgroup.create(parseLayout(""), "/c1", fs),
      /no cgroup hierarchy is mounted on this host/,
    );
    // A cgroup already in use (a process in it) is left as it was.
    Deno.mkdirSync(`${r}/memory/busy`);
    fs.mkdir(`${r}/memory/busy/c1`);
    fs.addProcess(`${r}/memory/busy/c1`, 4);
    const book = new MemoryParentBook();
    assert.throws(() => Cgroup.create(layout, "/busy/c1", fs, book), /is not empty: 1 process/);
    assert.ok(fs.exists(`${r}/memory/busy/c1`));
    assert.equal(fs.exists(`${r}/cpuset/busy`), false, "what this create made is gone");
    assert.deepEqual([...book.dirs], []);
    // A refused cpuset seed fails the create, naming the directory.
    fs.refuse.set("cpuset.mems", 13);
    assert.throws(
      () => Cgroup.create(layout, "/x/c1", fs),
      /cannot create cgroup .*\/cpuset\/x\/c1: cannot write "0" to .*cpuset.mems: EACCES/,
    );
    assert.equal(fs.exists(`${r}/memory/x`), false);
  } finally {
    fs.dispose();
  }
});

Deno.test("remove: a shared parent goes with the last container out, in every hierarchy", async () => {
  const { fs, layout, r, u } = hybridHost(["memory"], ["hugetlb"]);
  try {
    const book = new MemoryParentBook();
    Deno.mkdirSync(`${r}/memory/kubepods`);
    fs.mkdir(`${u}/kubepods`);
    const a = Cgroup.create(layout, "/kubepods/p/a", fs, book);
    const b = Cgroup.create(layout, "/kubepods/p/b", fs, book);
    assert.deepEqual([...book.dirs].map((d) => d.replace(r, "R")).sort(), [
      "R/memory/kubepods/p",
      "R/systemd/kubepods",
      "R/systemd/kubepods/p",
      "R/unified/kubepods/p",
    ]);
    // Cgroups the container made inside its own go with it.
    fs.mkdir(`${u}/kubepods/p/a/nested`);
    await a.remove();
    assert.equal(fs.exists(`${u}/kubepods/p/a`), false);
    assert.ok(fs.exists(`${r}/memory/kubepods/p`), "still used by b");
    await b.remove();
    assert.equal(fs.exists(`${r}/memory/kubepods/p`), false, "b removes what a made");
    assert.equal(fs.exists(`${r}/systemd/kubepods`), false);
    assert.ok(fs.exists(`${r}/memory/kubepods`) && fs.exists(`${u}/kubepods`));
    assert.deepEqual([...book.dirs], []);
  } finally {
    fs.dispose();
  }
});
