import assert from "node:assert/strict";
import { decode, encode, type Schema } from "./wire.ts";
import * as m from "./messages.ts";

const ts: m.Timestamp = { seconds: 1_700_000_000n, nanos: 123_456_789 };
const any: m.Any = { typeUrl: "t", value: new Uint8Array([1, 2, 3]) };
const mount: m.Mount = { type: "overlay", source: "overlay", target: "/t", options: ["a", "b"] };

/** One sample per message with every field set (typed, so a misnamed field fails the check). */
const SAMPLES: [Schema<unknown>, unknown][] = [
  [
    m.StateResponse,
    {
      id: "c",
      bundle: "/b",
      pid: 42,
      status: m.TaskStatus.STOPPED,
      stdin: "i",
      stdout: "o",
      stderr: "e",
      terminal: true,
      exitStatus: 137,
      exitedAt: ts,
      execId: "x",
    } satisfies m.StateResponse,
  ],
  [
    m.CreateTaskRequest,
    {
      id: "c",
      bundle: "/b",
      rootfs: [mount, { ...mount, options: [] }],
      terminal: true,
      stdin: "i",
      stdout: "o",
      stderr: "e",
      checkpoint: "cp",
      parentCheckpoint: "pcp",
      options: any,
    } satisfies m.CreateTaskRequest,
  ],
  [m.DeleteResponse, { pid: 1, exitStatus: 2, exitedAt: ts } satisfies m.DeleteResponse],
  [
    m.PidsResponse,
    {
      processes: [{ pid: 1, info: any }, { pid: 2 }],
    } satisfies m.PidsResponse,
  ],
  [
    m.CheckpointTaskRequest,
    { id: "c", path: "/p", options: any } satisfies m.CheckpointTaskRequest,
  ],
  [m.KillRequest, { id: "c", execId: "x", signal: 9, all: true } satisfies m.KillRequest],
  [
    m.ExecProcessRequest,
    {
      id: "c",
      execId: "x",
      terminal: true,
      stdin: "i",
      stdout: "o",
      stderr: "e",
      spec: any,
    } satisfies m.ExecProcessRequest,
  ],
  [
    m.ResizePtyRequest,
    { id: "c", execId: "x", width: 80, height: 24 } satisfies m.ResizePtyRequest,
  ],
  [m.CloseIORequest, { id: "c", execId: "x", stdin: true } satisfies m.CloseIORequest],
  [
    m.UpdateTaskRequest,
    {
      id: "c",
      resources: any,
      annotations: { a: "1", "io.kubernetes.cri.sandbox-id": "s" },
    } satisfies m.UpdateTaskRequest,
  ],
  [m.WaitResponse, { exitStatus: 3, exitedAt: ts } satisfies m.WaitResponse],
  [m.StatsResponse, { stats: any } satisfies m.StatsResponse],
  [m.ConnectResponse, { shimPid: 1, taskPid: 2, version: "v" } satisfies m.ConnectResponse],
  [m.ShutdownRequest, { id: "c", now: true } satisfies m.ShutdownRequest],
  [
    m.TtrpcRequest,
    {
      service: "s",
      method: "m",
      payload: new Uint8Array([9]),
      timeoutNano: 5_000_000_000n,
      metadata: [{ key: "k", value: "v" }, { key: "k", value: "w" }],
    } satisfies m.TtrpcRequest,
  ],
  [
    m.TtrpcResponse,
    {
      status: { code: 5, message: "nope", details: [any] },
      payload: new Uint8Array([7]),
    } satisfies m.TtrpcResponse,
  ],
  [
    m.TaskCreate,
    {
      containerId: "c",
      bundle: "/b",
      rootfs: [mount],
      io: { stdin: "i", stdout: "o", stderr: "e", terminal: true },
      checkpoint: "cp",
      pid: 5,
    } satisfies m.TaskCreate,
  ],
  [
    m.TaskDelete,
    {
      containerId: "c",
      pid: 5,
      exitStatus: 1,
      exitedAt: ts,
      id: "x",
    } satisfies m.TaskDelete,
  ],
  [
    m.TaskExit,
    {
      containerId: "c",
      id: "c",
      pid: 5,
      exitStatus: 1,
      exitedAt: ts,
    } satisfies m.TaskExit,
  ],
  [m.TaskExecStarted, { containerId: "c", execId: "x", pid: 6 } satisfies m.TaskExecStarted],
  [
    m.ForwardRequest,
    {
      envelope: { timestamp: ts, namespace: "n", topic: "/tasks/oom", event: any },
    } satisfies m.ForwardRequest,
  ],
];

Deno.test("messages: every field of every sample survives a round trip", () => {
  for (const [schema, value] of SAMPLES) {
    const bytes = encode(schema, value as never);
    assert.deepEqual(decode(schema, bytes), value, schema.name);
  }
});

Deno.test("messages: a schema's fields have unique numbers and names", () => {
  const schemas = (Object.values(m) as unknown[]).filter((v): v is Schema<unknown> =>
    typeof v === "object" && v !== null && "fields" in v && "name" in v
  );
  assert.ok(schemas.length > 50, `found ${schemas.length} schemas`);
  for (const s of schemas) {
    assert.equal(new Set(s.fields.map((f) => f.no)).size, s.fields.length, s.name);
    assert.equal(new Set(s.fields.map((f) => f.name)).size, s.fields.length, s.name);
    for (const f of s.fields) if (f.type === "message") assert.ok(f.message?.().fields, f.name);
  }
});

Deno.test("messages: containerd's numbers for the status enum, services and event topics", () => {
  assert.deepEqual(m.TaskStatus, {
    UNKNOWN: 0,
    CREATED: 1,
    RUNNING: 2,
    STOPPED: 3,
    PAUSED: 4,
    PAUSING: 5,
  });
  assert.equal(m.TASK_SERVICE, "containerd.task.v2.Task");
  assert.equal(m.METRICS_TYPE_URL, "io.containerd.cgroups.v1.Metrics");
  const topics = Object.fromEntries(
    Object.entries(m.EVENT_TOPICS).map(([k, v]) => [k, [v.topic, v.typeUrl, v.schema.name]]),
  );
  assert.deepEqual(topics.TaskExit, [
    "/tasks/exit",
    "containerd.events.TaskExit",
    "containerd.events.TaskExit",
  ]);
  assert.deepEqual(topics.TaskExecAdded?.[0], "/tasks/exec-added");
  assert.deepEqual(topics.TaskExecStarted?.[0], "/tasks/exec-started");
  for (const [k, [topic, url, name]] of Object.entries(topics)) {
    assert.equal(url, `containerd.events.${k}`);
    assert.equal(name, url, "type URL is the proto name");
    assert.match(topic!, /^\/tasks\/[a-z-]+$/);
  }
  assert.equal(Object.keys(topics).length, 9);
});

Deno.test("messages: eventForward packs a TaskExit the way containerd's publisher does", () => {
  const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
  const req = m.eventForward("TaskExit", "k8s.io", {
    containerId: "c1",
    id: "c1",
    pid: 9,
    exitStatus: 2,
  }, at);
  const back = decode(m.ForwardRequest, encode(m.ForwardRequest, req));
  const env = back.envelope!;
  assert.equal(env.namespace, "k8s.io");
  assert.equal(env.topic, "/tasks/exit");
  assert.deepEqual(env.timestamp, { seconds: BigInt(at.getTime() / 1000 | 0), nanos: 678_000_000 });
  assert.equal(env.event?.typeUrl, "containerd.events.TaskExit");
  // TaskExit{container_id "c1" (1), id "c1" (2), pid 9 (3), exit_status 2 (4)}
  assert.deepEqual(
    env.event?.value,
    new Uint8Array([0x0a, 2, 0x63, 0x31, 0x12, 2, 0x63, 0x31, 0x18, 9, 0x20, 2]),
  );
});

Deno.test("messages: toTimestamp keeps sub-second precision", () => {
  const t = m.toTimestamp(new Date(1500));
  assert.deepEqual(t, { seconds: 1n, nanos: 500_000_000 });
  const now = m.toTimestamp();
  assert.ok(Math.abs(Number(now.seconds) - Date.now() / 1000) < 5);
  assert.ok(now.nanos >= 0 && now.nanos < 1e9);
  assert.deepEqual(m.toTimestamp(new Date(-1)), { seconds: -1n, nanos: 999_000_000 });
});

Deno.test("messages: cgroups v1 Metrics carries every row ctr task metrics prints", () => {
  const metrics: m.Metrics = {
    hugetlb: [{ usage: 1n, max: 2n, failcnt: 3n, pagesize: "2MB" }],
    pids: { current: 3n, limit: 100n },
    cpu: {
      usage: { total: 10n, kernel: 4n, user: 6n, perCpu: [7n, 3n] },
      throttling: { periods: 5n, throttledPeriods: 1n, throttledTime: 99n },
    },
    memory: {
      ...Object.fromEntries(
        m.MemoryStat.fields.filter((f) => f.type === "uint64").map((
          f,
          i,
        ) => [f.name, BigInt(i + 1)]),
      ) as Omit<m.MemoryStat, "usage" | "swap" | "kernel" | "kernelTcp">,
      usage: { limit: 1n << 62n, usage: 4096n, max: 8192n, failcnt: 0n },
      swap: { limit: 1n, usage: 2n, max: 3n, failcnt: 4n },
      kernel: { limit: 5n, usage: 6n, max: 7n, failcnt: 8n },
      kernelTcp: { limit: 9n, usage: 10n, max: 11n, failcnt: 12n },
    },
    blkio: {
      ioServiceBytesRecursive: [{ op: "Read", device: "", major: 8n, minor: 0n, value: 512n }],
      ioServicedRecursive: [],
      ioQueuedRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [{ op: "", device: "sda", major: 8n, minor: 0n, value: 1n }],
    },
    rdma: { current: [{ device: "d", hcaHandles: 1, hcaObjects: 2 }], limit: [] },
    network: [{
      name: "eth0",
      rxBytes: 1n,
      rxPackets: 2n,
      rxErrors: 3n,
      rxDropped: 4n,
      txBytes: 5n,
      txPackets: 6n,
      txErrors: 7n,
      txDropped: 8n,
    }],
    cgroupStats: {
      nrSleeping: 1n,
      nrRunning: 2n,
      nrStopped: 3n,
      nrUninterruptible: 4n,
      nrIoWait: 5n,
    },
    memoryOomControl: { oomKillDisable: 0n, underOom: 0n, oomKill: 1n },
  };
  assert.deepEqual(decode(m.Metrics, encode(m.Metrics, metrics)), metrics);
  // memory.stat's total_cache is field 18, the usage entry field 33: spot-check the numbering.
  const cache = encode(m.MemoryStat, { totalCache: 1n, usage: { usage: 2n } });
  assert.deepEqual(cache, new Uint8Array([0x90, 0x01, 1, 0x8a, 0x02, 2, 0x10, 2]));
  const names = m.MemoryStat.fields.map((f) => `${f.no}:${f.name}`);
  assert.ok(names.includes("19:totalRss") && names.includes("32:totalUnevictable"));
  assert.ok(names.includes("16:hierarchicalMemoryLimit") && names.includes("36:kernelTcp"));
});
