import assert from "node:assert/strict";
import { metricsOf } from "./stats.ts";
import { Metrics } from "./proto/messages.ts";
import { decode } from "./proto/wire.ts";
import type { Stats } from "../cgroups/stats.ts";

/** A Stats as lib/cgroups/v1/stats.ts reads one (runc's types.Stats, its JSON field names). */
function sample(): Stats {
  return {
    cpu: {
      usage: {
        total: 123_456_789n,
        percpu: [100n, 200n, 0n, 300n],
        percpu_kernel: [1n, 2n, 0n, 3n],
        percpu_user: [4n, 5n, 0n, 6n],
        kernel: 20_000_000n,
        user: 30_000_000n,
      },
      // stats_format.ts's throttling(): runc's ThrottlingData JSON names.
      throttling: { periods: 10n, throttledPeriods: 4n, throttledTime: 5_000n },
    },
    cpuset: {},
    memory: {
      cache: 4096n,
      usage: { limit: 1n << 30n, usage: 8192n, max: 16384n, failcnt: 2n },
      swap: { limit: 2n << 30n, usage: 9000n, max: 9999n, failcnt: 0n },
      kernel: { limit: 0n, failcnt: 0n },
      kernelTCP: { limit: 7n, usage: 1n, failcnt: 3n },
      raw: {
        active_anon: 11n,
        active_file: 12n,
        cache: 4096n,
        dirty: 13n,
        hierarchical_memory_limit: 1n << 30n,
        hierarchical_memsw_limit: 2n << 30n,
        inactive_anon: 14n,
        mapped_file: 15n,
        pgfault: 16n,
        pgmajfault: 17n,
        pgpgin: 18n,
        pgpgout: 19n,
        rss: 20n,
        rss_huge: 21n,
        shmem: 99n, // in memory.stat, not in Metrics: left out
        // memory.stat's swap counter must not take the place of the swap entry.
        swap: 5n,
        total_swap: 6n,
        total_cache: 22n,
        total_pgmajfault: 23n,
        total_pgpgin: 24n,
        total_rss_huge: 25n,
        total_unevictable: 26n,
        unevictable: 27n,
      },
    },
    pids: { current: 3n, limit: 64n },
    blkio: {
      ioServiceBytesRecursive: [
        { major: 8n, minor: 0n, op: "Read", value: 4096n },
        { major: 8n, op: "Write" }, // omitempty left out the zeros
      ],
      ioServicedRecursive: [{ major: 8n, minor: 16n, op: "Total", value: 5n }],
      ioQueueRecursive: [{ major: 253n, minor: 1n, op: "Sync", value: 6n }],
      sectorsRecursive: [{ major: 8n, minor: 0n, value: 7n }],
    },
    hugetlb: {
      "1GB": { usage: 0n, failcnt: 0n },
      "2MB": { usage: 2097152n, max: 4194304n, failcnt: 1n },
    },
    intel_rdt: {},
    network_interfaces: null,
  };
}

Deno.test("stats: metricsOf is a cgroups v1 Metrics Any under its type URL", () => {
  const any = metricsOf(sample());
  assert.equal(any.typeUrl, "io.containerd.cgroups.v1.Metrics");
  const m = decode(Metrics, any.value);
  assert.deepEqual(m.pids, { current: 3n, limit: 64n });
  assert.deepEqual(m.cpu?.usage, {
    total: 123_456_789n,
    kernel: 20_000_000n,
    user: 30_000_000n,
    perCpu: [100n, 200n, 0n, 300n],
  });
});

Deno.test("stats: memory usage, limits, failcnt, cache and memory.stat counters", () => {
  const mem = decode(Metrics, metricsOf(sample()).value).memory!;
  assert.deepEqual(mem.usage, { limit: 1n << 30n, usage: 8192n, max: 16384n, failcnt: 2n });
  assert.deepEqual(mem.swap, { limit: 2n << 30n, usage: 9000n, max: 9999n, failcnt: 0n });
  assert.deepEqual(mem.kernel, { limit: 0n, usage: 0n, max: 0n, failcnt: 0n });
  assert.deepEqual(mem.kernelTcp, { limit: 7n, usage: 1n, max: 0n, failcnt: 3n });
  assert.equal(mem.cache, 4096n);
  assert.equal(mem.rss, 20n);
  assert.equal(mem.rssHuge, 21n);
  assert.equal(mem.mappedFile, 15n);
  assert.equal(mem.dirty, 13n);
  assert.equal(mem.activeAnon, 11n);
  assert.equal(mem.activeFile, 12n);
  assert.equal(mem.inactiveAnon, 14n);
  assert.equal(mem.unevictable, 27n);
  // The names that are not simply camelCase.
  assert.equal(mem.pgPgIn, 18n);
  assert.equal(mem.pgPgOut, 19n);
  assert.equal(mem.pgFault, 16n);
  assert.equal(mem.pgMajFault, 17n);
  assert.equal(mem.hierarchicalMemoryLimit, 1n << 30n);
  assert.equal(mem.hierarchicalSwapLimit, 2n << 30n);
  // total_* counters.
  assert.equal(mem.totalCache, 22n);
  assert.equal(mem.totalPgMajFault, 23n);
  assert.equal(mem.totalPgPgIn, 24n);
  assert.equal(mem.totalRssHuge, 25n);
  assert.equal(mem.totalUnevictable, 26n);
  assert.equal(mem.totalRss, 0n, "absent counters are zero");
  assert.equal(mem.writeback, 0n);
});

Deno.test("stats: blkio entries and hugetlb sizes", () => {
  const m = decode(Metrics, metricsOf(sample()).value);
  const b = m.blkio!;
  const e = (major: bigint, minor: bigint, op: string, value: bigint) => ({
    op,
    device: "",
    major,
    minor,
    value,
  });
  assert.deepEqual(b.ioServiceBytesRecursive, [e(8n, 0n, "Read", 4096n), e(8n, 0n, "Write", 0n)]);
  assert.deepEqual(b.ioServicedRecursive, [e(8n, 16n, "Total", 5n)]);
  // runc's ioQueueRecursive is Metrics' ioQueuedRecursive.
  assert.deepEqual(b.ioQueuedRecursive, [e(253n, 1n, "Sync", 6n)]);
  assert.deepEqual(b.sectorsRecursive, [e(8n, 0n, "", 7n)]);
  assert.deepEqual(b.ioServiceTimeRecursive, []);
  assert.deepEqual(b.ioWaitTimeRecursive, []);
  assert.deepEqual(b.ioMergedRecursive, []);
  assert.deepEqual(b.ioTimeRecursive, []);
  const huge = Object.fromEntries(m.hugetlb.map((h) => [h.pagesize, h]));
  assert.deepEqual(Object.keys(huge).sort(), ["1GB", "2MB"]);
  assert.deepEqual(huge["2MB"], { pagesize: "2MB", usage: 2097152n, max: 4194304n, failcnt: 1n });
  assert.deepEqual(huge["1GB"], { pagesize: "1GB", usage: 0n, max: 0n, failcnt: 0n });
});

Deno.test("stats: the zero Stats of a container without controllers encodes", () => {
  const zero: Stats = {
    cpu: { usage: { kernel: 0n, user: 0n }, throttling: {} },
    cpuset: {},
    memory: { usage: { limit: 0n, failcnt: 0n } },
    pids: {},
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
  const m = decode(Metrics, metricsOf(zero).value);
  assert.deepEqual(m.pids, { current: 0n, limit: 0n });
  assert.deepEqual(m.cpu?.usage?.perCpu, []);
  assert.equal(m.memory?.cache, 0n);
  assert.deepEqual(m.hugetlb, []);
});

// lib/cgroups/stats_format.ts's throttling() names the fields as runc's JSON does
// (throttledPeriods, throttledTime); stats.ts once read snake_case names, always 0.
Deno.test({
  name: "stats: cpu throttling periods, throttled periods and time",
  fn() {
    const m = decode(Metrics, metricsOf(sample()).value);
    assert.deepEqual(m.cpu?.throttling, {
      periods: 10n,
      throttledPeriods: 4n,
      throttledTime: 5_000n,
    });
  },
});
