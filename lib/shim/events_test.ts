import assert from "node:assert/strict";
import { Publisher } from "./events.ts";
import { Code, TtrpcError, TtrpcServer } from "./ttrpc.ts";
import {
  Empty,
  EVENTS_SERVICE,
  ForwardRequest,
  TaskExit,
  TaskPaused,
  TaskStart,
} from "./proto/messages.ts";
import { decode, encode } from "./proto/wire.ts";
import { Logger } from "../log.ts";

interface Received {
  namespace: string;
  topic: string;
  typeUrl: string;
  value: Uint8Array;
}

/** containerd's Events service standing in on a unix socket; can go down and come back. */
class FakeContainerd {
  readonly received: Received[] = [];
  calls = 0;
  /** Topics answered with an error status. */
  readonly refuse = new Set<string>();
  /** Holds every Forward until opened (a slow containerd). */
  hold: Promise<void> | undefined;
  #server: TtrpcServer | undefined;
  #serving: Promise<void> | undefined;
  #waiters: (() => void)[] = [];

  constructor(readonly path: string) {}

  up(): void {
    const server = new TtrpcServer();
    server.register(EVENTS_SERVICE, {
      Forward: async (payload) => {
        this.calls++;
        const env = decode(ForwardRequest, payload).envelope!;
        await this.hold;
        if (this.refuse.has(env.topic)) {
          throw new TtrpcError(Code.INVALID_ARGUMENT, `refused ${env.topic}`);
        }
        this.received.push({
          namespace: env.namespace,
          topic: env.topic,
          typeUrl: env.event?.typeUrl ?? "",
          value: env.event?.value ?? new Uint8Array(),
        });
        for (const w of this.#waiters.splice(0)) w();
        return encode(Empty, {});
      },
    });
    this.#server = server;
    this.#serving = server.serve(Deno.listen({ transport: "unix", path: this.path }));
  }

  async down(): Promise<void> {
    await this.#server?.close();
    await this.#serving;
    this.#server = undefined;
  }

  /** Resolves once `n` events have arrived (or throws after `ms`). */
  async until(n: number, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (this.received.length < n) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${this.received.length} of ${n} events arrived`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
    }
  }
}

/** A fake containerd (not yet up), a publisher aimed at it and a log file; all torn down. */
async function withPublisher(
  fn: (c: FakeContainerd, p: Publisher, log: () => string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "denki-events-" });
  const c = new FakeContainerd(`${dir}/containerd.sock.ttrpc`);
  const logFile = `${dir}/log`;
  const p = new Publisher(
    `unix://${c.path}`,
    "k8s.io",
    new Logger({ format: "text", debug: false, file: logFile }),
  );
  const log = () => {
    try {
      return Deno.readTextFileSync(logFile);
    } catch {
      return "";
    }
  };
  try {
    await fn(c, p, log);
  } finally {
    p.close();
    await c.down();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("events: events arrive in order with topic, namespace, type URL and payload", async () => {
  await withPublisher(async (c, p) => {
    c.up();
    p.publish("TaskStart", { containerId: "c1", pid: 42 });
    p.publish("TaskPaused", { containerId: "c1" });
    p.publish("TaskExit", { containerId: "c1", id: "c1", pid: 42, exitStatus: 3 });
    await p.flush(5000);
    assert.deepEqual(
      c.received.map((r) => [r.namespace, r.topic, r.typeUrl]),
      [
        ["k8s.io", "/tasks/start", "containerd.events.TaskStart"],
        ["k8s.io", "/tasks/paused", "containerd.events.TaskPaused"],
        ["k8s.io", "/tasks/exit", "containerd.events.TaskExit"],
      ],
    );
    assert.deepEqual(decode(TaskStart, c.received[0]!.value), { containerId: "c1", pid: 42 });
    assert.deepEqual(decode(TaskPaused, c.received[1]!.value), { containerId: "c1" });
    const exit = decode(TaskExit, c.received[2]!.value);
    assert.equal(exit.exitStatus, 3);
    assert.equal(exit.id, "c1");
    // More after the queue ran dry go on the same way.
    p.publish("TaskStart", { containerId: "c2", pid: 43 });
    await p.flush(5000);
    assert.equal(c.received.length, 4);
    assert.deepEqual(decode(TaskStart, c.received[3]!.value), { containerId: "c2", pid: 43 });
  });
});

Deno.test("events: a containerd that comes up late still gets the queued events, in order", async () => {
  await withPublisher(async (c, p, log) => {
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) p.publish("TaskStart", { containerId: `c${i}`, pid: i + 1 });
    // flush returns within its bound even though nothing can be sent.
    await p.flush(100);
    const waited = performance.now() - t0;
    assert.ok(waited >= 90 && waited < 1000, `flush(100) took ${waited} ms`);
    assert.equal(c.received.length, 0);
    c.up();
    await p.flush(5000);
    assert.deepEqual(
      c.received.map((r) => decode(TaskStart, r.value).containerId),
      ["c0", "c1", "c2", "c3", "c4"],
    );
    // The retry pauses start small: the events went within a second of containerd coming up.
    assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
    assert.equal(log(), "", "nothing dropped");
  });
});

Deno.test("events: an event containerd refuses is dropped once, and the next one goes", async () => {
  await withPublisher(async (c, p, log) => {
    c.up();
    c.refuse.add("/tasks/paused");
    p.publish("TaskStart", { containerId: "c1", pid: 1 });
    p.publish("TaskPaused", { containerId: "c1" });
    p.publish("TaskResumed", { containerId: "c1" });
    await p.flush(5000);
    assert.deepEqual(c.received.map((r) => r.topic), ["/tasks/start", "/tasks/resumed"]);
    assert.equal(c.calls, 3, "the refused event was sent once, not retried");
    const lines = log().trim().split("\n");
    assert.equal(lines.length, 1, log());
    assert.match(lines[0]!, /level=warning msg=".*event \/tasks\/paused dropped: refused/);
  });
});

Deno.test("events: flush returns within its bound while containerd is slow to answer", async () => {
  await withPublisher(async (c, p) => {
    let open!: () => void;
    c.hold = new Promise<void>((r) => (open = r));
    c.up();
    p.publish("TaskStart", { containerId: "c1", pid: 1 });
    const t0 = performance.now();
    await p.flush(100);
    const waited = performance.now() - t0;
    assert.ok(waited >= 90 && waited < 1000, `flush(100) took ${waited} ms`);
    assert.equal(c.received.length, 0);
    open();
    await p.flush(5000);
    assert.equal(c.received.length, 1);
  });
});

Deno.test("events: with no containerd address nothing is published", async () => {
  const p = new Publisher("", "k8s.io", new Logger({ format: "text", debug: false }));
  p.publish("TaskStart", { containerId: "c1", pid: 1 });
  const t0 = performance.now();
  await p.flush(5000);
  assert.ok(performance.now() - t0 < 50, "nothing to wait for");
  p.close();
});

// containerd restarting between two events: the publisher's connection is closed by then, and
// TtrpcClient.call on it rejects with TtrpcError(UNAVAILABLE, "ttrpc: closed"), which must
// not be taken for containerd's own refusal (it was, once: the event was dropped).
Deno.test({
  name: "events: after containerd restarts, the next event reaches the new containerd",
  async fn() {
    await withPublisher(async (c, p) => {
      c.up();
      p.publish("TaskStart", { containerId: "c1", pid: 1 });
      await p.flush(5000);
      assert.equal(c.received.length, 1);
      await c.down();
      c.up();
      p.publish("TaskExit", { containerId: "c1", id: "c1", pid: 1, exitStatus: 0 });
      await p.flush(5000);
      assert.deepEqual(c.received.map((r) => r.topic), ["/tasks/start", "/tasks/exit"]);
    });
  },
});
