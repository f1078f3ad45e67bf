import assert from "node:assert/strict";
import { MemoryIo } from "./io.ts";
import { Cgroup } from "./manager.ts";
import { collectStats, pageSizeName, toJson } from "./stats.ts";
import { parseCpuList } from "./stats_format.ts";
import { blkioEntries, blkioV1 } from "./v1/stats.ts";
import { ioStatEntries } from "./v2/stats.ts";

const V1 = "/sys/fs/cgroup";
const DIR = "/c1";

/** A v1 container cgroup (cpu and cpuacct mounted apart, as on this project's machine). */
function v1Cgroup(files: Record<string, string>): Cgroup {
  const io = new MemoryIo();
  for (const [f, v] of Object.entries(files)) io.files.set(f, v);
  const v1: Record<string, string> = {};
  for (const c of ["cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer"]) {
    v1[c] = `${V1}/${c}${DIR}`;
  }
  return new Cgroup({ path: DIR, v1, v2Controllers: [], created: [] }, io);
}

function v2Cgroup(files: Record<string, string>): Cgroup {
  const io = new MemoryIo();
  for (const [f, v] of Object.entries(files)) io.files.set(`/sys/fs/cgroup${DIR}/${f}`, v);
  return new Cgroup({
    path: DIR,
    v1: {},
    v2: `/sys/fs/cgroup${DIR}`,
    v2Controllers: ["cpu", "io", "memory", "pids"],
    created: [],
  }, io);
}

const f = (c: string, file: string) => `${V1}/${c}${DIR}/${file}`;

Deno.test("stats v1: runc 1.1's JSON, byte for byte", () => {
  // Files as this machine's kernel writes them for a container that ran `cat` and sleeps.
  const cg = v1Cgroup({
    [f("cpuacct", "cpuacct.usage")]: "22970061\n",
    [f("cpuacct", "cpuacct.usage_percpu")]: "14511147 8458914 \n",
    [f("cpuacct", "cpuacct.usage_all")]: "cpu user system\n0 0 12000000\n1 0 4000000\n",
    [f("cpuacct", "cpuacct.stat")]: "user 0\nsystem 2\n",
    [f("cpu", "cpu.stat")]: "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
    [f("cpuset", "cpuset.cpus")]: "0-1\n",
    [f("cpuset", "cpuset.mems")]: "0\n",
    [f("cpuset", "cpuset.cpu_exclusive")]: "0\n",
    [f("cpuset", "cpuset.sched_load_balance")]: "1\n",
    [f("cpuset", "cpuset.sched_relax_domain_level")]: "-1\n",
    [f("memory", "memory.stat")]: "rss 49152\ncache 606208\ntotal_cache 700000\n",
    [f("memory", "memory.limit_in_bytes")]: "9223372036854771712\n",
    [f("memory", "memory.usage_in_bytes")]: "1318912\n",
    [f("memory", "memory.max_usage_in_bytes")]: "2777088\n",
    [f("memory", "memory.failcnt")]: "0\n",
    [f("memory", "memory.memsw.limit_in_bytes")]: "9223372036854771712\n",
    [f("memory", "memory.memsw.usage_in_bytes")]: "1318912\n",
    [f("memory", "memory.memsw.max_usage_in_bytes")]: "2777088\n",
    [f("memory", "memory.memsw.failcnt")]: "0\n",
    [f("memory", "memory.kmem.tcp.limit_in_bytes")]: "9223372036854771712\n",
    [f("memory", "memory.kmem.tcp.usage_in_bytes")]: "0\n",
    [f("memory", "memory.kmem.tcp.max_usage_in_bytes")]: "0\n",
    [f("memory", "memory.kmem.tcp.failcnt")]: "0\n",
    [f("pids", "pids.current")]: "1\n",
    [f("pids", "pids.max")]: "max\n",
    // BFQ's files exist but are empty (the disk uses another scheduler): runc moves on.
    [f("blkio", "blkio.bfq.io_serviced_recursive")]: "",
    [f("blkio", "blkio.throttle.io_serviced_recursive")]:
      "254:0 Read 15\n254:0 Write 0\n254:0 Total 15\nTotal 15\n",
    [f("blkio", "blkio.throttle.io_service_bytes_recursive")]:
      "254:0 Read 606208\n254:0 Write 0\n254:0 Total 606208\nTotal 606208\n",
  });
  assert.equal(
    toJson({ type: "stats", id: "c1", data: collectStats(cg, []) }),
    '{"type":"stats","id":"c1","data":{' +
      '"cpu":{"usage":{"total":22970061,"percpu":[14511147,8458914],' +
      '"percpu_kernel":[12000000,4000000],"percpu_user":[0,0],"kernel":20000000,"user":0},' +
      '"throttling":{}},' +
      '"cpuset":{"cpus":[0,1],"cpu_exclusive":0,"mems":[0],"mem_hardwall":0,' +
      '"mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,"memory_spread_slab":0,' +
      '"memory_pressure":0,"sched_load_balance":1,"sched_relax_domain_level":-1},' +
      '"memory":{"cache":606208,' +
      '"usage":{"limit":9223372036854771712,"usage":1318912,"max":2777088,"failcnt":0},' +
      '"swap":{"limit":9223372036854771712,"usage":1318912,"max":2777088,"failcnt":0},' +
      '"kernel":{"limit":0,"failcnt":0},' +
      '"kernelTCP":{"limit":9223372036854771712,"failcnt":0},' +
      '"raw":{"cache":606208,"rss":49152,"total_cache":700000}},' +
      '"pids":{"current":1},' +
      '"blkio":{"ioServiceBytesRecursive":[{"major":254,"op":"Read","value":606208},' +
      '{"major":254,"op":"Write"},{"major":254,"op":"Total","value":606208}],' +
      '"ioServicedRecursive":[{"major":254,"op":"Read","value":15},{"major":254,"op":"Write"},' +
      '{"major":254,"op":"Total","value":15}]},' +
      '"hugetlb":{},"intel_rdt":{},"network_interfaces":null}}',
  );
});

Deno.test("stats v1 blkio: runc's file groups in order, zero fields left out", () => {
  const files: Record<string, string> = {};
  const read = (name: string) => files[name];
  assert.deepEqual(blkioV1(read), {}, "no files at all");
  // BFQ's debug files win over everything; files without an op give op-less entries.
  files["blkio.bfq.sectors_recursive"] = "8:16 12\n8:0 0\n";
  files["blkio.bfq.io_service_time_recursive"] = "8:16 Read 3\nTotal 3\n";
  files["blkio.throttle.io_serviced_recursive"] = "8:16 Read 99\n";
  const partial = blkioV1(read);
  assert.deepEqual(Object.keys(partial), ["ioServiceTimeRecursive", "sectorsRecursive"]);
  assert.deepEqual(partial.sectorsRecursive, [
    { major: 8n, minor: 16n, value: 12n },
    { major: 8n },
  ]);
  // A missing file inside a group ends the search with what was found (runc returns there).
  assert.equal(partial.ioServicedRecursive, undefined);
  // Without BFQ debug, the CFQ group; then the throttle files.
  delete files["blkio.bfq.sectors_recursive"];
  files["blkio.sectors_recursive"] = "";
  assert.deepEqual(blkioV1(read), {
    ioServicedRecursive: [{ major: 8n, minor: 16n, op: "Read", value: 99n }],
  });
  // Malformed lines are skipped (runc fails the whole call on them).
  assert.deepEqual(blkioEntries("8:0 Read x\ngarbage\n8:a Read 1\n\n8:0 Async 5\n"), [
    { major: 8n, op: "Async", value: 5n },
  ]);
  assert.equal(blkioEntries("Total 0\n"), undefined);
});

Deno.test("stats v2: runc's fs2 values in the same shape", () => {
  const cg = v2Cgroup({
    "cpu.stat": "usage_usec 300\nuser_usec 200\nsystem_usec 100\nnr_periods 5\n" +
      "nr_throttled 2\nthrottled_usec 7\n",
    "memory.stat": "file 4096\nanon 8192\n",
    "memory.current": "12288\n",
    "memory.max": "max\n",
    "memory.peak": "20000\n",
    "memory.swap.current": "100\n",
    "memory.swap.max": "max\n",
    "memory.events": "max 3\noom 1\n",
    "cgroup.procs": "10\n11\n",
    "io.stat": "8:0 rbytes=10 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
  });
  const data = JSON.parse(toJson(collectStats(cg, [])));
  assert.deepEqual(data.cpu, {
    usage: { total: 300000, kernel: 100000, user: 200000 },
    throttling: { periods: 5, throttledPeriods: 2, throttledTime: 7000 },
  });
  // No cpuset read on v2: the struct of zeros, its lists left out.
  assert.deepEqual(Object.keys(data.cpuset), [
    "cpu_exclusive",
    "mem_hardwall",
    "mem_exclusive",
    "memory_migrate",
    "memory_spread_page",
    "memory_spread_slab",
    "memory_pressure",
    "sched_load_balance",
    "sched_relax_domain_level",
  ]);
  assert.ok(Object.values(data.cpuset).every((v) => v === 0));
  const json = toJson(collectStats(cg, []));
  // "max" is 2^64-1; swap is memory+swap, as v1's memsw; failcnt is never read on v2.
  assert.match(
    json,
    /"memory":\{"cache":4096,"usage":\{"limit":18446744073709551615,"usage":12288,"max":20000,"failcnt":0\},"swap":\{"limit":18446744073709551615,"usage":12388,"failcnt":0\},"kernel":\{"limit":0,"failcnt":0\},"kernelTCP":\{"limit":0,"failcnt":0\},"raw":\{"anon":8192,"file":4096\}\}/,
  );
  // No pids controller: runc counts cgroup.procs.
  assert.deepEqual(data.pids, { current: 2 });
  assert.deepEqual(data.blkio, {
    ioServiceBytesRecursive: [{ major: 8, op: "Read", value: 10 }, { major: 8, op: "Write" }],
    ioServicedRecursive: [{ major: 8, op: "Read", value: 1 }, { major: 8, op: "Write" }],
  });
});

Deno.test("stats v2: a finite swap limit adds the memory limit; no swap files mirror memory", () => {
  const base = { "memory.stat": "", "memory.current": "10\n", "memory.max": "1000\n" };
  const withSwap = JSON.parse(toJson(collectStats(
    v2Cgroup({ ...base, "memory.swap.current": "5\n", "memory.swap.max": "500\n" }),
    [],
  )));
  assert.deepEqual(withSwap.memory.swap, { limit: 1500, usage: 15, failcnt: 0 });
  const noSwap = JSON.parse(toJson(collectStats(v2Cgroup(base), [])));
  assert.deepEqual(noSwap.memory.swap, { limit: 1000, usage: 10, failcnt: 0 });
  assert.equal(noSwap.memory.raw, undefined, "an empty map is left out");
  // No memory controller at all: the four entries, zero.
  const none = JSON.parse(toJson(collectStats(v2Cgroup({}), [])));
  assert.deepEqual(none.memory, {
    usage: { limit: 0, failcnt: 0 },
    swap: { limit: 0, failcnt: 0 },
    kernel: { limit: 0, failcnt: 0 },
    kernelTCP: { limit: 0, failcnt: 0 },
  });
  assert.deepEqual(none.cpu, { usage: { kernel: 0, user: 0 }, throttling: {} });
});

Deno.test("stats: hugetlb by page size, keys in Go's map order", () => {
  const cg = v2Cgroup({
    "hugetlb.2MB.current": "0\n",
    "hugetlb.2MB.events": "max 0\n",
    "hugetlb.1GB.current": "1073741824\n",
    "hugetlb.1GB.events": "max 2\n",
  });
  assert.equal(
    toJson(collectStats(cg, ["2MB", "1GB"]).hugetlb),
    '{"1GB":{"usage":1073741824,"failcnt":2},"2MB":{"failcnt":0}}',
  );
});

Deno.test("stats: helpers for v2 io.stat, page sizes and cpu lists", () => {
  assert.deepEqual(ioStatEntries("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0\n"), {
    ioServiceBytesRecursive: [
      { major: 8n, op: "Read", value: 10n },
      { major: 8n, op: "Write", value: 20n },
    ],
    ioServicedRecursive: [
      { major: 8n, op: "Read", value: 1n },
      { major: 8n, op: "Write", value: 2n },
    ],
  });
  assert.deepEqual(ioStatEntries(""), {});
  assert.equal(pageSizeName("hugepages-2048kB"), "2MB");
  assert.equal(pageSizeName("hugepages-1048576kB"), "1GB");
  assert.equal(pageSizeName("hugepages-64kB"), "64KB");
  assert.deepEqual(parseCpuList("0-2,5\n"), [0, 1, 2, 5]);
});
