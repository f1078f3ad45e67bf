import assert from "node:assert/strict";
import type { Resources } from "../spec/config.ts";
import { FakeCgroupfs } from "./_fake_cgroupfs.ts";
import { MemoryIo } from "./io.ts";
import { parseLayout } from "./layout.ts";
import { Cgroup } from "./manager.ts";
import type { CgroupRecord } from "./record.ts";
import { resourcesSchema } from "../spec/config.ts";
import { byController, routeResources } from "./route.ts";
import { V1Driver } from "./v1/driver.ts";
import { V2Driver } from "./v2/driver.ts";

const MiB = 1 << 20;

/** This machine's layout: v1 has every controller runc uses but hugetlb, which is v2's. */
const HOST_V1 = ["cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer", "blkio"];

/** Every field of linux.resources but devices and unified. */
const FULL: Resources = {
  memory: {
    limit: 64 * MiB,
    swap: 128 * MiB,
    reservation: 32 * MiB,
    kernel: 8 * MiB,
    kernelTCP: 4 * MiB,
    swappiness: 10,
    disableOOMKiller: true,
    useHierarchy: true, // no file under either version
    checkBeforeUpdate: true, // a runc update option: no file either
  },
  cpu: {
    shares: 512,
    quota: 50000,
    period: 100000,
    burst: 1000,
    realtimePeriod: 1000000,
    realtimeRuntime: 10000,
    idle: 0,
    cpus: "0",
    mems: "0",
  },
  pids: { limit: 40 },
  blockIO: {
    weight: 500,
    leafWeight: 300,
    weightDevice: [{ major: 8, minor: 0, weight: 400, leafWeight: 200 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: MiB }],
    throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2 * MiB }],
    throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 0 }],
  },
  hugepageLimits: [{ pageSize: "2MB", limit: 2 * MiB }],
  network: { classID: 0x100001, priorities: [{ name: "eth0", priority: 5 }] },
  rdma: { mlx5_0: { hcaHandles: 3 } },
};

Deno.test("route: FULL sets every field of the schema, and each belongs to one controller", () => {
  // A field the schema gains must be added to FULL (and so to a controller) to pass.
  const shape = resourcesSchema.shape;
  const keys = Object.keys(shape).filter((k) => k !== "devices" && k !== "unified").sort();
  assert.deepEqual(Object.keys(FULL).sort(), keys);
  for (const k of ["memory", "cpu", "pids", "blockIO", "network"] as const) {
    const fields = Object.keys((shape[k].parser as unknown as { shape: object }).shape).sort();
    assert.deepEqual(Object.keys(FULL[k]!).sort(), fields, k);
  }
  // Cut by controller and put together again, nothing is lost and nothing is in two places.
  const shares = byController(FULL);
  assert.deepEqual(shares.map(([c]) => c), [
    "memory",
    "cpu",
    "cpuset",
    "pids",
    "blkio",
    "hugetlb",
    "net_cls",
    "net_prio",
    "rdma",
  ]);
  const back: Record<string, unknown> = {};
  for (const [, share] of shares) {
    for (const [k, v] of Object.entries(share)) {
      if (Array.isArray(v) || typeof v !== "object") back[k] = v;
      else {
        const had = (back[k] ?? {}) as Record<string, unknown>;
        for (const f of Object.keys(v)) assert.ok(!(f in had), `${k}.${f} twice`);
        back[k] = { ...had, ...v };
      }
    }
  }
  assert.deepEqual(back, FULL);
  assert.deepEqual(byController({ cpu: { cpus: "0" }, unified: { "a.b": "1" }, devices: [] }), [
    ["cpuset", { cpu: { cpus: "0" } }],
  ]);
});

/** FULL without the parts named. */
function without(...keys: (keyof Resources)[]): Resources {
  const r: Record<string, unknown> = { ...FULL };
  for (const k of keys) delete r[k];
  return r as Resources;
}

/**
 * The drivers of a container on a host whose v1 hierarchies have `v1` (undefined: no v1
 * hierarchy) and whose cgroup2 root offers `v2` (undefined: no cgroup2 mount).
 */
function drivers(v1: string[] | undefined, v2: string[] | undefined) {
  const rec: CgroupRecord = { path: "/c1", mounts: {}, v1: {}, v2Controllers: [], created: [] };
  for (const c of v1 ?? []) rec.v1[c] = `/v1/${c}/c1`;
  if (v2 !== undefined) {
    rec.v2 = "/unified/c1";
    rec.v2Controllers = v2.filter((c) => !(v1 ?? []).includes(c));
  }
  const io = new MemoryIo();
  return {
    v1: v1 === undefined ? undefined : new V1Driver(rec, io),
    v2: v2 === undefined ? undefined : new V2Driver(rec, io),
  };
}

/** Where each write of `r` goes: "v1 file=value" or "v2 file=value", and the notes. */
function route(v1: string[] | undefined, v2: string[] | undefined, r: Resources) {
  const d = drivers(v1, v2);
  const notes: string[] = [];
  const writes = routeResources(r, d.v1, d.v2, notes).flatMap(([driver, ws]) =>
    ws.map((w) => `v${driver.version} ${w.files.join("|")}=${w.value}`)
  );
  return { writes, notes, files: writes.map((w) => w.slice(0, w.indexOf("="))) };
}

/** What the v1 driver writes for every field, as `route` lists it. */
const V1_FULL = [
  "v1 memory.limit_in_bytes=67108864",
  "v1 memory.memsw.limit_in_bytes=134217728",
  "v1 memory.soft_limit_in_bytes=33554432",
  "v1 memory.kmem.limit_in_bytes=8388608",
  "v1 memory.kmem.tcp.limit_in_bytes=4194304",
  "v1 memory.swappiness=10",
  "v1 memory.oom_control=1",
  "v1 cpu.shares=512",
  "v1 cpu.cfs_period_us=100000",
  "v1 cpu.cfs_quota_us=50000",
  "v1 cpu.cfs_burst_us=1000",
  "v1 cpu.rt_period_us=1000000",
  "v1 cpu.rt_runtime_us=10000",
  "v1 cpu.idle=0",
  "v1 cpuset.cpus=0",
  "v1 cpuset.mems=0",
  "v1 pids.max=40",
  "v1 blkio.bfq.weight|blkio.weight=500",
  "v1 blkio.leaf_weight=300",
  "v1 blkio.bfq.weight_device|blkio.weight_device=8:0 400",
  "v1 blkio.leaf_weight_device=8:0 200",
  "v1 blkio.throttle.read_bps_device=8:0 1048576",
  "v1 blkio.throttle.write_bps_device=8:0 2097152",
  "v1 blkio.throttle.read_iops_device=8:16 300",
  "v1 blkio.throttle.write_iops_device=8:16 0",
];

Deno.test("route, hybrid (this host): v1's controllers get every field, v2 only hugetlb", () => {
  for (const v2 of [["hugetlb"], []]) {
    // Real-time CPU and a swap limit with no memory limit were refused here by v2's
    // translation while v2 had any controller; now v2 never sees them.
    const huge = v2.length > 0;
    const r = huge ? without("network", "rdma") : without("network", "rdma", "hugepageLimits");
    const { writes, notes } = route(HOST_V1, v2, r);
    assert.deepEqual(notes, [], `v2 ${v2}`);
    assert.deepEqual(writes, [...V1_FULL, ...(huge ? ["v2 hugetlb.2MB.max=2097152"] : [])]);
    for (
      const r of [
        { cpu: { realtimeRuntime: 10000 } },
        { cpu: { realtimePeriod: 1000000 } },
        { memory: { swap: 128 * MiB } },
        { memory: { swap: MiB, limit: 2 * MiB } },
      ]
    ) {
      const only = route(HOST_V1, v2, r);
      assert.ok(only.writes.length > 0, JSON.stringify(r));
      assert.ok(only.writes.every((w) => w.startsWith("v1 ")), `${only.writes}`);
    }
  }
  assert.throws(
    () => route(HOST_V1, [], { hugepageLimits: FULL.hugepageLimits! }),
    /^DenkiError: linux.resources.hugepageLimits: the hugetlb cgroup controller is not available on this host$/,
  );
  // A field whose controller nobody serves is refused by name, whichever comes first.
  assert.throws(
    () => route(HOST_V1, ["hugetlb"], FULL),
    /^DenkiError: linux.resources.network.classID: the net_cls cgroup controller is not available on this host$/,
  );
  assert.throws(
    () => route(HOST_V1, ["hugetlb"], { network: { priorities: [{ name: "lo", priority: 1 }] } }),
    /network.priorities: the net_prio cgroup controller is not available/,
  );
  assert.throws(
    () => route(HOST_V1, ["hugetlb"], { rdma: { mlx5_0: { hcaObjects: 1 } } }),
    /^DenkiError: linux.resources.rdma: the rdma cgroup controller is not available on this host$/,
  );
  // Settings that set nothing need no controller, as before.
  assert.deepEqual(route(["memory"], ["hugetlb"], { cpu: { shares: 0, quota: 0 } }).writes, []);
});

Deno.test("route, hybrid: a controller v2 serves gets v2's form of all its fields", () => {
  // cpu, io, hugetlb and rdma are v2's here; memory, cpuset and pids v1's.
  const v1 = ["cpuset", "memory", "pids", "devices", "freezer"];
  const v2 = ["cpu", "io", "hugetlb", "rdma", "memory"];
  const d2 = drivers(v1, v2).v2!;
  assert.ok(d2.hasController("cpu") && !d2.hasController("memory"), "memory stays v1's");
  const r = without("network");
  r.cpu = { ...r.cpu, realtimePeriod: 0, realtimeRuntime: 0 }; // 0 is unset: v2 takes it
  const { writes, notes } = route(v1, v2, r);
  assert.deepEqual(writes, [
    ...V1_FULL.filter((w) => /^v1 (memory|cpuset|pids)\./.test(w)),
    "v2 cpu.weight=20",
    "v2 cpu.max=50000 100000",
    "v2 cpu.max.burst=1000",
    "v2 cpu.idle=0",
    "v2 io.bfq.weight=500",
    "v2 io.weight=default 4950",
    "v2 io.weight=8:0 3940",
    "v2 io.max=8:0 rbps=1048576",
    "v2 io.max=8:0 wbps=2097152",
    "v2 io.max=8:16 riops=300",
    "v2 io.max=8:16 wiops=max",
    "v2 hugetlb.2MB.max=2097152",
    "v2 rdma.max=mlx5_0 hca_handle=3",
  ]);
  // v2's warnings only for what it serves: blkio's leaf weights, not memory's v1-only fields.
  assert.deepEqual(notes, [
    "linux.resources.blockIO.leafWeight ignored: cgroup v2 has no such setting",
    "linux.resources.blockIO.weightDevice.leafWeight ignored: cgroup v2 has no such setting",
  ]);
  // A period alone was refused: v1's translation named it cpu.period, v2's cpu.quota.
  assert.deepEqual(route(v1, v2, { cpu: { period: 50000 } }).writes, ["v2 cpu.max=max 50000"]);
  // The serving driver may refuse what it cannot do; the message is its own.
  assert.throws(
    () => route(v1, v2, { cpu: { realtimeRuntime: 10000 } }),
    /cpu.realtimeRuntime\/realtimePeriod: cgroup v2 has no real-time CPU bandwidth control/,
  );
  // memory on v2 (v1 without it): v2's swap rule and v2's warnings apply.
  const memV2 = (r: Resources) => route(["cpu", "pids"], ["memory"], r);
  assert.throws(() => memV2({ memory: { swap: MiB } }), /under cgroup v2 a swap limit needs/);
  assert.deepEqual(memV2({ memory: { limit: MiB, swap: 3 * MiB, swappiness: 5, kernel: 1 } }), {
    writes: ["v2 memory.swap.max=2097152", "v2 memory.max=1048576"],
    files: ["v2 memory.swap.max", "v2 memory.max"],
    notes: [
      "linux.resources.memory.kernel ignored: cgroup v2 has no such setting",
      "linux.resources.memory.swappiness ignored: cgroup v2 has no such setting",
    ],
  });
});

Deno.test("route, v1 only: every field to v1, a missing controller named, unified refused", () => {
  const v1 = [...HOST_V1, "hugetlb", "net_cls", "net_prio", "rdma"];
  const { writes, notes } = route(v1, undefined, FULL);
  assert.deepEqual(writes, [
    ...V1_FULL,
    "v1 hugetlb.2MB.limit_in_bytes=2097152",
    "v1 net_cls.classid=1048577",
    "v1 net_prio.ifpriomap=eth0 5",
    "v1 rdma.max=mlx5_0 hca_handle=3",
  ]);
  assert.deepEqual(notes, []);
  assert.throws(
    () => route(HOST_V1, undefined, { hugepageLimits: FULL.hugepageLimits! }),
    /^DenkiError: linux.resources.hugepageLimits: the hugetlb cgroup controller is not available on this host$/,
  );
  assert.throws(
    () => route(v1, undefined, { unified: { "cgroup.max.depth": "1" } }),
    /^DenkiError: linux.resources.unified needs cgroup v2, which this host does not have$/,
  );
});

Deno.test("route, v2 only: every field in v2's form, warnings for what v2 lacks", () => {
  const v2 = ["cpu", "cpuset", "memory", "pids", "io", "hugetlb", "rdma"];
  const r = { ...FULL, cpu: { ...FULL.cpu, realtimePeriod: 0, realtimeRuntime: 0 } };
  for (const v1 of [undefined, ["name=systemd"]]) {
    // A named v1 hierarchy (name=systemd) alone serves nothing: still a v2 host.
    const { files, notes } = route(v1, v2, r);
    assert.ok(files.every((f) => f.startsWith("v2 ")), `${files}`);
    assert.ok(files.includes("v2 memory.swap.max") && files.includes("v2 cpuset.cpus"));
    assert.deepEqual(notes.map((n) => n.slice(0, n.indexOf(" "))), [
      "linux.resources.memory.kernel",
      "linux.resources.memory.kernelTCP",
      "linux.resources.memory.swappiness",
      "linux.resources.memory.disableOOMKiller",
      "linux.resources.blockIO.leafWeight",
      "linux.resources.blockIO.weightDevice.leafWeight",
      "linux.resources.network.classID",
      "linux.resources.network.priorities",
    ]);
  }
  assert.throws(() => route(undefined, v2, FULL), /real-time CPU bandwidth/);
  assert.throws(() => route(undefined, v2, { memory: { swap: MiB } }), /needs a memory limit/);
  assert.throws(
    () => route(undefined, ["memory"], { blockIO: { weight: 100 } }),
    /^DenkiError: linux.resources.blockIO.weight: the io cgroup controller is not available on this host$/,
  );
});

Deno.test("route: unified files go to v2 when it serves their controller, else are refused", () => {
  // Core files need no controller: a hybrid cgroup2 with none takes them too.
  for (const v2 of [["hugetlb"], []]) {
    assert.deepEqual(route(HOST_V1, v2, { unified: { "cgroup.max.depth": "3" } }).writes, [
      "v2 cgroup.max.depth=3",
    ]);
  }
  assert.deepEqual(route(HOST_V1, ["hugetlb"], { unified: { "hugetlb.2MB.max": "0" } }).writes, [
    "v2 hugetlb.2MB.max=0",
  ]);
  assert.throws(
    () => route(HOST_V1, ["hugetlb"], { unified: { "memory.high": "1" } }),
    /^DenkiError: linux.resources.unified.memory.high: the memory controller is on cgroup v1 here, so it has no v2 files$/,
  );
  // Nobody has io here: refused, where it used to be dropped without a word.
  assert.throws(
    () => route(HOST_V1, ["hugetlb"], { unified: { "io.max": "8:0 rbps=1" } }),
    /^DenkiError: linux.resources.unified.io.max: the io cgroup controller is not available on this host$/,
  );
  assert.throws(
    () => route(HOST_V1, ["hugetlb"], { unified: { "../x": "1" } }),
    /not a cgroup file name/,
  );
  assert.deepEqual(
    route(["name=systemd"], ["memory"], { unified: { "memory.high": "9" } }).writes,
    ["v2 memory.high=9"],
  );
});

/** A hybrid host laid out like this machine, in a temp dir, with one container made. */
function thisHost() {
  const fs = new FakeCgroupfs();
  const lines = HOST_V1.map((c) =>
    fs.mountV1(c, [c], c === "cpuset" ? { "cpuset.cpus": "0-1", "cpuset.mems": "0" } : {})
  );
  lines.push(fs.mountV1("systemd", ["name=systemd"]), fs.mountV2("unified", ["hugetlb"]));
  const cg = Cgroup.create(parseLayout(lines.join("\n"), "hugetlb"), "/c1", fs);
  return { fs, cg, r: fs.root, u: `${fs.root}/unified/c1` };
}

Deno.test("apply on this host's layout: real-time CPU lands in v1's cpu files", () => {
  const { fs, cg, r, u } = thisHost();
  try {
    const notes = cg.apply({
      cpu: { realtimePeriod: 500000, realtimeRuntime: 20000, shares: 256 },
      hugepageLimits: [{ pageSize: "2MB", limit: 4 * MiB }],
    }, { devices: false });
    assert.deepEqual(notes, []);
    assert.equal(fs.read(`${r}/cpu/c1/cpu.rt_period_us`), "500000");
    assert.equal(fs.read(`${r}/cpu/c1/cpu.rt_runtime_us`), "20000");
    assert.equal(fs.read(`${r}/cpu/c1/cpu.shares`), "256");
    assert.equal(fs.read(`${u}/hugetlb.2MB.max`), String(4 * MiB));
    assert.deepEqual(fs.writes.filter((w) => w.startsWith(u)), [`${u}/hugetlb.2MB.max=4194304`]);
  } finally {
    fs.dispose();
  }
});

Deno.test("apply on this host's layout: a swap limit alone is v1's to judge", () => {
  const { fs, cg, r } = thisHost();
  const mem = `${r}/memory/c1`;
  try {
    // With no memory limit the kernel (the fake keeps its rule) refuses memory+swap.
    assert.throws(
      () => cg.apply({ memory: { swap: 128 * MiB } }, { devices: false }),
      (e: Error) =>
        e.message.startsWith(
          `linux.resources.memory.swap: cannot write "134217728" to ${mem}/memory.memsw.limit_in_bytes: EINVAL`,
        ) && e.message.includes("unless memory.limit is set") && !/v2/.test(e.message),
    );
    // Once a limit is there (update of a running container), a new swap limit alone is fine.
    cg.apply({ memory: { limit: 64 * MiB } }, { devices: false });
    assert.deepEqual(cg.apply({ memory: { swap: 128 * MiB } }, { devices: false }), []);
    assert.equal(fs.read(`${mem}/memory.memsw.limit_in_bytes`), String(128 * MiB));
    assert.equal(fs.read(`${mem}/memory.limit_in_bytes`), String(64 * MiB));
    assert.deepEqual(cg.apply({ memory: { swap: -1 } }, { devices: false }), []);
    assert.equal(fs.read(`${mem}/memory.memsw.limit_in_bytes`), "-1");
    assert.ok(!fs.writes.some((w) => w.includes("/unified/") && w.includes("memory")));
  } finally {
    fs.dispose();
  }
});

/** Every file under `root` with its content: what a refused apply must leave as it was. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else out.set(path, Deno.readTextFileSync(path));
    }
  };
  walk(root);
  return out;
}

Deno.test("apply: a refused setting leaves every file as it was, whichever driver refuses", () => {
  const limit = { memory: { limit: 64 * MiB }, pids: { limit: 9 } };
  const cases: [string, () => ReturnType<typeof thisHost>, Resources, RegExp][] = [
    [
      "nobody serves net_cls",
      thisHost,
      { ...limit, network: { classID: 1 } },
      /^DenkiError: linux.resources.network.classID: the net_cls cgroup controller is not available/,
    ],
    [
      "a v2 file of a controller v1 serves",
      thisHost,
      { ...limit, unified: { "memory.high": "1" } },
      /^DenkiError: linux.resources.unified.memory.high: the memory controller is on cgroup v1 here/,
    ],
    [
      "a bad unified file name",
      thisHost,
      { ...limit, unified: { "../x": "1" } },
      /^DenkiError: linux.resources.unified: "..\/x" is not a cgroup file name/,
    ],
    [
      "v2 serves cpu here and refuses real-time CPU, after v1 took memory",
      () => hybridWith(["memory", "pids", "devices"], ["cpu"]),
      { ...limit, cpu: { shares: 100, realtimeRuntime: 1000 } },
      /^DenkiError: linux.resources.cpu.realtimeRuntime\/realtimePeriod: cgroup v2 has no real-time CPU/,
    ],
    [
      "a v2-only host refuses a swap limit alone, before its device program goes on",
      () => hybridWith([], ["memory", "pids"]),
      { ...limit, memory: { swap: MiB } },
      /^DenkiError: linux.resources.memory.swap: under cgroup v2 a swap limit needs a memory limit too$/,
    ],
  ];
  for (const [what, host, r, error] of cases) {
    const { fs, cg } = host();
    try {
      const before = snapshot(fs.root);
      const writes = fs.writes.length;
      assert.throws(() => cg.apply(r, { devices: true }), error, what);
      assert.deepEqual(fs.writes.slice(writes), [], what);
      assert.deepEqual(fs.programs, [], what);
      assert.deepEqual(snapshot(fs.root), before, what);
      // The same host takes the settings that were fine on their own.
      assert.deepEqual(cg.apply(limit, { devices: true }), [], what);
      assert.ok(fs.writes.length > writes, what);
    } finally {
      fs.dispose();
    }
  }
});

/** A host with v1 hierarchies of `v1` (none: a v2 host) and a cgroup2 root offering `v2`. */
function hybridWith(v1: string[], v2: string[]) {
  const fs = new FakeCgroupfs();
  const lines = v1.map((c) => fs.mountV1(c, [c]));
  lines.push(fs.mountV2("unified", v2));
  const cg = Cgroup.create(parseLayout(lines.join("\n"), v2.join(" ")), "/c1", fs);
  return { fs, cg, r: fs.root, u: `${fs.root}/unified/c1` };
}
