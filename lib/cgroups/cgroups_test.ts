import assert from "node:assert/strict";
import { CgroupWriteError, MemoryIo } from "./io.ts";
import { layoutMode, parseLayout } from "./layout.ts";
import { Cgroup } from "./manager.ts";
import { MemoryParentBook } from "./parents.ts";
import { containerCgroupPath, parseSystemdPath } from "./path.ts";
import { v1DeviceLine, v1Writes } from "./v1/resources.ts";
import { blkioToIoWeight, sharesToWeight, swapMaxV2, v2Writes } from "./v2/resources.ts";

const HYBRID = [
  "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
  "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset",
  "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices",
  "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer",
  "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
  "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
  "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate",
].join("\n");

const UNIFIED = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate";

Deno.test("layout: hybrid, unified, legacy and none; shared mounts; namespaced roots", () => {
  const h = parseLayout(HYBRID, "hugetlb");
  assert.equal(layoutMode(h), "hybrid");
  assert.equal(h.v1.get("cpu")?.mount, "/sys/fs/cgroup/cpu,cpuacct");
  assert.equal(h.v1.get("cpuacct")?.mount, "/sys/fs/cgroup/cpu,cpuacct");
  assert.ok(!h.v1.has("xattr") && h.v1.has("name=systemd"));
  assert.deepEqual([...h.unified!.controllers], ["hugetlb"]);
  assert.equal(layoutMode(parseLayout(UNIFIED, "cpu memory")), "unified");
  assert.equal(layoutMode(parseLayout(HYBRID.split("\n").slice(0, 8).join("\n"))), "legacy");
  assert.equal(layoutMode(parseLayout("")), "none");
  const ns = parseLayout("50 1 0:26 /denki/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw");
  assert.equal(ns.unified?.root, "/denki/c1");
  const esc = parseLayout("50 1 0:26 / /a\\040b rw - cgroup cgroup rw,memory");
  assert.equal(esc.v1.get("memory")?.mount, "/a b");
});

Deno.test("cgroupsPath: absolute, relative to the caller, default per id, systemd refused", () => {
  assert.equal(containerCgroupPath("/k8s.io/abc", "c1", false), "/k8s.io/abc");
  assert.equal(containerCgroupPath("/a//b/../c/", "c1", false), "/a/c");
  assert.equal(containerCgroupPath("pods/p1", "c1", false), "pods/p1");
  // runc's CleanPath: a relative path cannot climb above the caller's cgroup.
  assert.equal(containerCgroupPath("../../x/./y", "c1", false), "x/y");
  assert.equal(containerCgroupPath(undefined, "c1", false), "c1");
  assert.equal(containerCgroupPath("", "c1", false), "c1");
  assert.deepEqual(parseSystemdPath("system.slice:docker:abc"), {
    slice: "system.slice",
    prefix: "docker",
    name: "abc",
  });
  assert.equal(parseSystemdPath("/a:b:c"), undefined);
  assert.throws(() => containerCgroupPath("system.slice:denki:c1", "c1", false), /systemd/);
  assert.throws(() => containerCgroupPath(undefined, "c1", true), /systemd/);
  assert.throws(() => containerCgroupPath("/plain", "c1", true), /slice:prefix:name/);
  assert.throws(() => containerCgroupPath("/..", "c1", false), /root cgroup/);
  assert.throws(() => containerCgroupPath("./..", "c1", false), /caller's own cgroup/);
});

Deno.test("v1 writes: every field to its file, in order", () => {
  const writes = v1Writes({
    memory: {
      limit: 64 << 20,
      swap: 128 << 20,
      reservation: 32 << 20,
      kernel: 8 << 20,
      kernelTCP: 4 << 20,
      swappiness: 10,
      disableOOMKiller: true,
    },
    cpu: {
      shares: 512,
      period: 100000,
      quota: 50000,
      burst: 1000,
      realtimePeriod: 1000000,
      realtimeRuntime: 950000,
      idle: 1,
      cpus: "0-1",
      mems: "0",
    },
    pids: { limit: 0 },
    blockIO: {
      weight: 500,
      leafWeight: 300,
      weightDevice: [{ major: 8, minor: 0, weight: 400, leafWeight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
    },
    hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
    network: { classID: 0x100001, priorities: [{ name: "eth0", priority: 5 }] },
    rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 1000 } },
  }).map((w) => `${w.controller}:${w.files.join("|")}=${w.value}`);
  assert.deepEqual(writes, [
    "memory:memory.limit_in_bytes=67108864",
    "memory:memory.memsw.limit_in_bytes=134217728",
    "memory:memory.soft_limit_in_bytes=33554432",
    "memory:memory.kmem.limit_in_bytes=8388608",
    "memory:memory.kmem.tcp.limit_in_bytes=4194304",
    "memory:memory.swappiness=10",
    "memory:memory.oom_control=1",
    "cpu:cpu.shares=512",
    "cpu:cpu.cfs_period_us=100000",
    "cpu:cpu.cfs_quota_us=50000",
    "cpu:cpu.cfs_burst_us=1000",
    "cpu:cpu.rt_period_us=1000000",
    "cpu:cpu.rt_runtime_us=950000",
    "cpu:cpu.idle=1",
    "cpuset:cpuset.cpus=0-1",
    "cpuset:cpuset.mems=0",
    "pids:pids.max=max",
    "blkio:blkio.bfq.weight|blkio.weight=500",
    "blkio:blkio.leaf_weight=300",
    "blkio:blkio.bfq.weight_device|blkio.weight_device=8:0 400",
    "blkio:blkio.leaf_weight_device=8:0 200",
    "blkio:blkio.throttle.read_bps_device=8:0 1048576",
    "blkio:blkio.throttle.write_iops_device=8:0 100",
    "hugetlb:hugetlb.2MB.limit_in_bytes=4194304",
    "net_cls:net_cls.classid=1048577",
    "net_prio:net_prio.ifpriomap=eth0 5",
    "rdma:rdma.max=mlx5_0 hca_handle=3 hca_object=1000",
  ]);
});

Deno.test("v2 writes: conversions from the spec's v1 numbers, unified last", () => {
  assert.equal(sharesToWeight(2n), 1n);
  assert.equal(sharesToWeight(1024n), 39n);
  assert.equal(sharesToWeight(262144n), 10000n);
  assert.equal(blkioToIoWeight(10), 1);
  assert.equal(blkioToIoWeight(1000), 10000);
  assert.equal(swapMaxV2(100, 300), "200");
  assert.equal(swapMaxV2(100, -1), "max");
  assert.throws(() => swapMaxV2(undefined, 300), /needs a memory limit/);
  assert.throws(() => swapMaxV2(300, 100), /at least the limit/);
  const writes = v2Writes({
    memory: { limit: 1000, swap: 3000, reservation: 500 },
    cpu: { shares: 1024, quota: -1, period: 50000, burst: 10, idle: 1, cpus: "0" },
    pids: { limit: 7 },
    blockIO: {
      weight: 10,
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 9 }],
    },
    hugepageLimits: [{ pageSize: "1GB", limit: 0 }],
    unified: { "memory.high": "900", "cgroup.max.depth": "3" },
  }).map((w) => `${w.files.join("|")}=${w.value}`);
  assert.deepEqual(writes, [
    "memory.low=500",
    "memory.swap.max=2000",
    "memory.max=1000",
    "cpu.weight=39",
    "cpu.max=max 50000",
    "cpu.max.burst=10",
    "cpu.idle=1",
    "cpuset.cpus=0",
    "pids.max=7",
    "io.bfq.weight=10",
    "io.weight=default 1",
    "io.max=8:0 rbps=max",
    "io.max=8:0 wiops=9",
    "hugetlb.1GB.max=0",
    "memory.high=900",
    "cgroup.max.depth=3",
  ]);
  assert.throws(() => v2Writes({ unified: { "../x": "1" } }), /not a cgroup file name/);
  assert.throws(() => v2Writes({ cpu: { realtimeRuntime: 5 } }), /real-time/);
});

Deno.test("devices: v1 lines", () => {
  assert.equal(v1DeviceLine({ allow: false, access: "rwm" }), "a");
  assert.equal(
    v1DeviceLine({ allow: true, type: "c", major: 1, minor: 3, access: "rw" }),
    "c 1:3 rw",
  );
  assert.equal(v1DeviceLine({ allow: true, type: "b", major: -1 }), "b *:* rwm");
});

function hybridFake(): { io: MemoryIo; cg: Cgroup } {
  const io = new MemoryIo();
  io.files.set("/sys/fs/cgroup/cpuset/cpuset.cpus", "0-3\n");
  io.files.set("/sys/fs/cgroup/cpuset/cpuset.mems", "0\n");
  io.dirs.add("/sys/fs/cgroup/memory/k8s");
  const cg = Cgroup.create(parseLayout(HYBRID, "hugetlb"), "/k8s/pod/c1", io);
  return { io, cg };
}

Deno.test("manager: creates on every hierarchy, seeds cpusets, joins, records what it made", () => {
  const { io, cg } = hybridFake();
  assert.deepEqual(cg.rec.v1.memory, "/sys/fs/cgroup/memory/k8s/pod/c1");
  assert.equal(cg.rec.v1.cpu, cg.rec.v1.cpuacct);
  assert.equal(cg.rec.v2, "/sys/fs/cgroup/unified/k8s/pod/c1");
  assert.deepEqual(cg.rec.v2Controllers, ["hugetlb"]);
  assert.equal(cg.rec.v1["name=systemd"], "/sys/fs/cgroup/systemd/k8s/pod/c1");
  assert.ok(!cg.rec.created.includes("/sys/fs/cgroup/memory/k8s"), "existing parent not claimed");
  assert.ok(cg.rec.created.includes("/sys/fs/cgroup/memory/k8s/pod"));
  assert.equal(io.read("/sys/fs/cgroup/cpuset/k8s/pod/c1/cpuset.cpus"), "0-3");
  cg.join(42);
  const joined = io.writes.filter((w) => w.endsWith("cgroup.procs=42"));
  assert.equal(joined.length, 8); // cpu+cpuacct share one dir; seven v1 dirs plus unified
});

Deno.test("manager: resources split between v1 and v2; missing controllers refused", () => {
  const { io, cg } = hybridFake();
  io.files.set("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb");
  io.files.set("/sys/fs/cgroup/unified/k8s/pod/c1/cgroup.controllers", "");
  const notes = cg.apply({
    memory: { limit: 100 },
    hugepageLimits: [{ pageSize: "2MB", limit: 2097152 }],
  }, { devices: true });
  assert.deepEqual(notes, []);
  assert.ok(io.writes.includes("/sys/fs/cgroup/memory/k8s/pod/c1/memory.limit_in_bytes=100"));
  // hugetlb is v2-only here: turned on from the root down, then written in v2 form.
  assert.ok(io.writes.includes("/sys/fs/cgroup/unified/cgroup.subtree_control=+hugetlb"));
  assert.ok(io.writes.includes("/sys/fs/cgroup/unified/k8s/pod/cgroup.subtree_control=+hugetlb"));
  assert.ok(io.writes.includes("/sys/fs/cgroup/unified/k8s/pod/c1/hugetlb.2MB.max=2097152"));
  const devices = io.writes.filter((w) => w.includes("/devices/k8s/pod/c1/devices."));
  assert.equal(devices[0], "/sys/fs/cgroup/devices/k8s/pod/c1/devices.deny=a");
  assert.ok(devices.includes("/sys/fs/cgroup/devices/k8s/pod/c1/devices.allow=c 1:3 rwm"));
  assert.throws(
    () => cg.apply({ network: { classID: 1 } }, { devices: false }),
    /net_cls cgroup controller is not available/,
  );
  assert.throws(
    () => cg.apply({ unified: { "memory.high": "1" } }, { devices: false }),
    /memory controller is on cgroup v1/,
  );
});

Deno.test("manager: refused writes name the file and value; optional ones become notes", () => {
  const { io, cg } = hybridFake();
  io.refuse.set("cpuset.cpus", 22);
  assert.throws(
    () => cg.apply({ cpu: { cpus: "99" } }, { devices: false }),
    /linux.resources.cpu.cpus: cannot write "99" to \/sys\/fs\/cgroup\/cpuset\/k8s\/pod\/c1\/cpuset.cpus: EINVAL/,
  );
  io.refuse.set("memory.kmem.limit_in_bytes", 95);
  assert.deepEqual(cg.apply({ memory: { kernel: 1 } }, { devices: false }), [
    "linux.resources.memory.kernel ignored: this kernel has no memory.kmem.limit_in_bytes",
  ]);
});

Deno.test("manager: raising memory past memory+swap writes swap first", () => {
  const dir = "/sys/fs/cgroup/memory/k8s/pod/c1";
  // Like the kernel: memory.limit_in_bytes may not exceed memory.memsw.limit_in_bytes.
  class SwapIo extends MemoryIo {
    swap = 100;
    override write(path: string, value: string): void {
      if (path === `${dir}/memory.limit_in_bytes` && Number(value) > this.swap) {
        throw new CgroupWriteError(path, value, 22);
      }
      if (path === `${dir}/memory.memsw.limit_in_bytes`) this.swap = Number(value);
      super.write(path, value);
    }
  }
  const io = new SwapIo();
  const cg = Cgroup.create(parseLayout(HYBRID, ""), "/k8s/pod/c1", io);
  cg.apply({ memory: { limit: 500, swap: 800 } }, { devices: false });
  assert.deepEqual(io.writes.filter((w) => w.includes("limit_in_bytes")), [
    `${dir}/memory.memsw.limit_in_bytes=800`,
    `${dir}/memory.limit_in_bytes=500`,
  ]);
  assert.throws(() => cg.apply({ memory: { limit: 900 } }, { devices: false }), /EINVAL/);
});

Deno.test("manager: a pure v2 host writes v2 files and warns about v1-only fields", () => {
  const io = new MemoryIo();
  const layout = parseLayout(UNIFIED, "cpu memory pids io");
  const cg = Cgroup.create(layout, "/denki/c1", io);
  assert.deepEqual(cg.rec.v1, {});
  assert.deepEqual(cg.rec.v2Controllers, ["cpu", "io", "memory", "pids"]);
  io.files.set("/sys/fs/cgroup/denki/c1/cgroup.controllers", "cpu memory pids io");
  const notes = cg.apply({ memory: { limit: 1000, swappiness: 5 }, pids: { limit: 3 } }, {
    devices: false,
  });
  assert.deepEqual(notes, [
    "linux.resources.memory.swappiness ignored: cgroup v2 has no such setting",
  ]);
  assert.ok(io.writes.includes("/sys/fs/cgroup/denki/c1/memory.max=1000"));
  assert.ok(io.writes.includes("/sys/fs/cgroup/denki/c1/pids.max=3"));
  assert.throws(
    () => cg.apply({ hugepageLimits: [{ pageSize: "2MB", limit: 1 }] }, { devices: false }),
    /hugetlb cgroup controller is not available/,
  );
});

Deno.test("manager: freezer, pids of every child cgroup, OOM count, removal", async () => {
  const { io, cg } = hybridFake();
  const freezer = "/sys/fs/cgroup/freezer/k8s/pod/c1";
  assert.equal(cg.freezerState(), "thawed");
  await cg.freeze();
  assert.equal(io.read(`${freezer}/freezer.state`), "FROZEN");
  assert.equal(cg.freezerState(), "frozen");
  await cg.thaw();
  assert.equal(cg.freezerState(), "thawed");
  const pidsDir = "/sys/fs/cgroup/pids/k8s/pod/c1";
  io.files.set(`${pidsDir}/cgroup.procs`, "12\n10\n");
  io.dirs.add(`${pidsDir}/sub`);
  io.files.set(`${pidsDir}/sub/cgroup.procs`, "11\n");
  assert.deepEqual(cg.pids(), [10, 11, 12]);
  io.files.set(
    "/sys/fs/cgroup/memory/k8s/pod/c1/memory.oom_control",
    "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
  );
  assert.equal(cg.oomKills(), 3);
  io.dirs.delete(`${pidsDir}/sub`);
  await cg.remove();
  assert.ok(![...io.dirs].some((d) => d.includes("/pod")), [...io.dirs].join(" "));
  assert.ok(io.dirs.has("/sys/fs/cgroup/memory/k8s"), "a parent denki did not make stays");
});

Deno.test("manager: a shared parent goes with the last container out, whoever made it", async () => {
  const io = new MemoryIo();
  const book = new MemoryParentBook();
  const layout = parseLayout(UNIFIED, "");
  io.dirs.add("/sys/fs/cgroup/kubepods");
  const a = Cgroup.create(layout, "/kubepods/p/a", io, book);
  const b = Cgroup.create(layout, "/kubepods/p/b", io, book);
  assert.deepEqual([...book.dirs], ["/sys/fs/cgroup/kubepods/p"]);
  await a.remove();
  assert.ok(io.dirs.has("/sys/fs/cgroup/kubepods/p"), "still used by b");
  await b.remove();
  assert.equal(io.dirs.has("/sys/fs/cgroup/kubepods/p"), false, "b removes what a made");
  assert.ok(io.dirs.has("/sys/fs/cgroup/kubepods"), "a parent denki did not make stays");
  assert.deepEqual([...book.dirs], []);
});

Deno.test("manager: a cgroup with processes in it is refused and left as it was", () => {
  const io = new MemoryIo();
  const layout = parseLayout(UNIFIED, "");
  io.dirs.add("/sys/fs/cgroup/busy");
  io.dirs.add("/sys/fs/cgroup/busy/c1");
  io.files.set("/sys/fs/cgroup/busy/c1/cgroup.procs", "77\n");
  assert.throws(
    () => Cgroup.create(layout, "/busy/c1", io),
    /cgroup \/busy\/c1 is not empty: 1 process/,
  );
  assert.ok(io.dirs.has("/sys/fs/cgroup/busy/c1"));
});

Deno.test("manager: an exec'd process joins beside the init where the v2 leaf refuses members", () => {
  const { io, cg } = hybridFake();
  const leaf = "/sys/fs/cgroup/unified/k8s/pod/c1";
  io.refuse.set(`${leaf}/cgroup.procs`, 16);
  io.files.set("/proc/42/cgroup", "1:cpu:/k8s/pod/c1\n0::/k8s/pod/c1/init.scope\n");
  cg.joinBeside(77, 42);
  assert.ok(io.writes.includes(`${leaf}/init.scope/cgroup.procs=77`));
  assert.ok(io.writes.includes("/sys/fs/cgroup/memory/k8s/pod/c1/cgroup.procs=77"));
  // Never outside the container's own cgroup.
  io.files.set("/proc/42/cgroup", "0::/elsewhere\n");
  assert.throws(() => cg.joinBeside(78, 42), /EBUSY/);
});
