import assert from "node:assert/strict";
import {
  type CallContext,
  Code,
  type Handler,
  MAX_MESSAGE,
  TtrpcClient,
  TtrpcError,
  TtrpcServer,
  unary,
} from "./ttrpc.ts";
import { decode, encode } from "./proto/wire.ts";
import {
  ConnectRequest,
  ConnectResponse,
  TASK_SERVICE,
  TtrpcRequest,
  TtrpcResponse,
} from "./proto/messages.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** A promise with its resolver outside. */
function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => (open = r));
  return { promise, open };
}

interface Fixture {
  path: string;
  server: TtrpcServer;
  /** Releases a pending Slow call by its tag. */
  release: Map<string, (v: void) => void>;
  /** Contexts handlers saw, by tag. */
  seen: Map<string, CallContext>;
  /** Bytes returned by Big. */
  bigSize: { n: number };
}

/** A server on a socket in a temp dir with test methods; torn down (and checked) afterwards. */
async function withServer(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "denki-ttrpc-" });
  const path = `${dir}/s.sock`;
  const server = new TtrpcServer();
  const release = new Map<string, (v: void) => void>();
  const seen = new Map<string, CallContext>();
  const bigSize = { n: 0 };
  const echo: Handler = (p, ctx) => {
    seen.set(td.decode(p), ctx);
    return Promise.resolve(p);
  };
  server.register("test.Svc", {
    Echo: echo,
    Slow: async (p) => {
      const g = gate();
      release.set(td.decode(p), g.open);
      await g.promise;
      return te.encode(`slow ${td.decode(p)}`);
    },
    Fail: (p) => Promise.reject(new TtrpcError(Code.NOT_FOUND, `no such thing: ${td.decode(p)}`)),
    Throw: () => {
      throw new Error("plain failure");
    },
    Big: () => Promise.resolve(new Uint8Array(bigSize.n)),
  });
  server.register(TASK_SERVICE, {
    Connect: unary(
      ConnectRequest,
      ConnectResponse,
      (r) => Promise.resolve({ shimPid: 11, taskPid: 22, version: `v-${r.id}` }),
    ),
  });
  const listener = Deno.listen({ transport: "unix", path });
  const serving = server.serve(listener);
  try {
    await fn({ path, server, release, seen, bigSize });
  } finally {
    for (const open of release.values()) open();
    await server.close();
    await serving; // serve() must end, not throw
    await Deno.remove(dir, { recursive: true });
  }
}

function frame(streamId: number, type: number, body: Uint8Array, length = body.length): Uint8Array {
  const f = new Uint8Array(10 + body.length);
  const dv = new DataView(f.buffer);
  dv.setUint32(0, length);
  dv.setUint32(4, streamId);
  f[8] = type;
  f.set(body, 10);
  return f;
}

function request(service: string, method: string, payload: Uint8Array): Uint8Array {
  return encode(TtrpcRequest, { service, method, payload });
}

/** A raw connection that writes bytes and reads whole frames, to speak ttrpc by hand. */
class Raw {
  private buf = new Uint8Array();
  private constructor(readonly conn: Deno.UnixConn) {}
  static async open(path: string): Promise<Raw> {
    return new Raw(await Deno.connect({ transport: "unix", path }));
  }
  async write(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }
  private async need(n: number): Promise<boolean> {
    while (this.buf.length < n) {
      const chunk = new Uint8Array(65536);
      const got = await this.conn.read(chunk);
      if (got === null) return false;
      const next = new Uint8Array(this.buf.length + got);
      next.set(this.buf);
      next.set(chunk.subarray(0, got), this.buf.length);
      this.buf = next;
    }
    return true;
  }
  /** The next frame, or undefined when the peer closed. */
  async read(): Promise<{ streamId: number; type: number; res: TtrpcResponse } | undefined> {
    if (!(await this.need(10))) return undefined;
    const dv = new DataView(this.buf.buffer, this.buf.byteOffset);
    const len = dv.getUint32(0);
    const streamId = dv.getUint32(4);
    const type = this.buf[8]!;
    if (!(await this.need(10 + len))) return undefined;
    const body = this.buf.slice(10, 10 + len);
    this.buf = this.buf.slice(10 + len);
    return { streamId, type, res: decode(TtrpcResponse, body) };
  }
  close(): void {
    this.conn.close();
  }
}

async function rejectsWith(p: Promise<unknown>, code: number, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TtrpcError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("ttrpc: a typed call round trips through unary()", async () => {
  await withServer(async ({ path }) => {
    const c = await TtrpcClient.connect(path);
    try {
      const out = await c.call(TASK_SERVICE, "Connect", encode(ConnectRequest, { id: "abc" }));
      assert.deepEqual(decode(ConnectResponse, out), {
        shimPid: 11,
        taskPid: 22,
        version: "v-abc",
      });
      // A payload that is not a ConnectRequest: INVALID_ARGUMENT, and the connection lives on.
      await rejectsWith(
        c.call(TASK_SERVICE, "Connect", new Uint8Array([0x0a, 0x09])),
        Code.INVALID_ARGUMENT,
        /^unmarshal request error: decode containerd\.task\.v2\.ConnectRequest: length past the end/,
      );
      assert.equal(
        td.decode(await c.call("test.Svc", "Echo", te.encode("still here"))),
        "still here",
      );
    } finally {
      c.close();
    }
  });
});

Deno.test("ttrpc: calls on one connection run concurrently and are answered out of order", async () => {
  await withServer(async ({ path, release }) => {
    const c = await TtrpcClient.connect(path);
    try {
      const order: string[] = [];
      const slow = c.call("test.Svc", "Slow", te.encode("a")).then((p) => order.push(td.decode(p)));
      while (!release.has("a")) await new Promise((r) => setTimeout(r, 1));
      // The slow call holds nothing up: 50 echoes come back while it waits.
      const echoes = await Promise.all(
        Array.from({ length: 50 }, (_, i) => c.call("test.Svc", "Echo", te.encode(`e${i}`))),
      );
      assert.deepEqual(
        echoes.map((p) => td.decode(p)),
        Array.from({ length: 50 }, (_, i) => `e${i}`),
      );
      order.push("echoes");
      release.get("a")!();
      await slow;
      assert.deepEqual(order, ["echoes", "slow a"]);
    } finally {
      c.close();
    }
  });
});

Deno.test("ttrpc: on the wire, responses carry their request's stream id, in completion order", async () => {
  await withServer(async ({ path, release }) => {
    const raw = await Raw.open(path);
    try {
      await raw.write(frame(1, 1, request("test.Svc", "Slow", te.encode("x"))));
      await raw.write(frame(3, 1, request("test.Svc", "Echo", te.encode("y"))));
      const first = await raw.read();
      assert.equal(first?.streamId, 3);
      assert.equal(first?.type, 2);
      // Go's server sends an OK status as a present, empty Status.
      assert.deepEqual(first?.res.status, { code: 0, message: "", details: [] });
      assert.equal(td.decode(first!.res.payload), "y");
      release.get("x")!();
      const second = await raw.read();
      assert.equal(second?.streamId, 1);
      assert.equal(td.decode(second!.res.payload), "slow x");
    } finally {
      raw.close();
    }
  });
});

Deno.test("ttrpc: handler errors, unknown services and methods become statuses", async () => {
  await withServer(async ({ path }) => {
    const c = await TtrpcClient.connect(path);
    try {
      await rejectsWith(
        c.call("test.Svc", "Fail", te.encode("k")),
        Code.NOT_FOUND,
        /^no such thing: k$/,
      );
      await rejectsWith(
        c.call("test.Svc", "Throw", new Uint8Array()),
        Code.UNKNOWN,
        /^plain failure$/,
      );
      await rejectsWith(
        c.call("test.Svc", "Nope", new Uint8Array()),
        Code.UNIMPLEMENTED,
        /^method Nope$/,
      );
      await rejectsWith(
        c.call("no.Such", "Echo", new Uint8Array()),
        Code.UNIMPLEMENTED,
        /^service no\.Such$/,
      );
      // Names that are properties of every JS object are not methods.
      await rejectsWith(
        c.call("test.Svc", "constructor", new Uint8Array()),
        Code.UNIMPLEMENTED,
        /method/,
      );
      await rejectsWith(
        c.call("__proto__", "toString", new Uint8Array()),
        Code.UNIMPLEMENTED,
        /service/,
      );
    } finally {
      c.close();
    }
  });
});

Deno.test("ttrpc: metadata and the client's timeout reach the handler", async () => {
  await withServer(async ({ path, seen }) => {
    const raw = await Raw.open(path);
    try {
      const body = encode(TtrpcRequest, {
        service: "test.Svc",
        method: "Echo",
        payload: te.encode("md"),
        timeoutNano: 2_000_000_000n,
        metadata: [
          { key: "containerd-namespace-ttrpc", value: "k8s.io" },
          { key: "x", value: "1" },
          { key: "x", value: "2" },
          { key: "__proto__", value: "p" },
        ],
      });
      await raw.write(frame(5, 1, body));
      assert.equal((await raw.read())?.streamId, 5);
      const ctx = seen.get("md")!;
      assert.equal(ctx.timeoutNano, 2_000_000_000n);
      assert.deepEqual({ ...ctx.metadata }, {
        "containerd-namespace-ttrpc": ["k8s.io"],
        x: ["1", "2"],
        ["__proto__"]: ["p"],
      });
      assert.deepEqual(Object.getPrototypeOf(ctx.metadata), null);
    } finally {
      raw.close();
    }
    const c = await TtrpcClient.connect(path);
    try {
      await c.call("test.Svc", "Echo", te.encode("t"), 1500);
      assert.equal(seen.get("t")?.timeoutNano, 1_500_000_000n);
    } finally {
      c.close();
    }
  });
});

Deno.test("ttrpc: bad frames get Go's answers and leave the connection usable", async () => {
  await withServer(async ({ path }) => {
    const raw = await Raw.open(path);
    try {
      // A response-type frame sent to the server is ignored.
      await raw.write(frame(1, 2, request("test.Svc", "Echo", te.encode("ignored"))));
      // A body that is not a Request.
      await raw.write(frame(3, 1, new Uint8Array([0xff, 0xff, 0xff])));
      let f = await raw.read();
      assert.equal(f?.streamId, 3);
      assert.equal(f?.res.status?.code, Code.INVALID_ARGUMENT);
      assert.match(f!.res.status!.message, /^unmarshal request error: /);
      // An even (server-side) stream id.
      await raw.write(frame(4, 1, request("test.Svc", "Echo", te.encode("even"))));
      f = await raw.read();
      assert.deepEqual([f?.streamId, f?.res.status?.code], [4, Code.INVALID_ARGUMENT]);
      assert.match(f!.res.status!.message, /StreamID must be odd/);
      // An oversize frame is read past and answered RESOURCE_EXHAUSTED on its stream.
      const huge = new Uint8Array(MAX_MESSAGE + 1);
      await raw.write(frame(7, 1, huge));
      f = await raw.read();
      assert.deepEqual([f?.streamId, f?.res.status?.code], [7, Code.RESOURCE_EXHAUSTED]);
      assert.match(
        f!.res.status!.message,
        /message length 4194305 exceed maximum message size of 4194304/,
      );
      // An empty frame is an empty Request: no such service.
      await raw.write(frame(9, 1, new Uint8Array()));
      f = await raw.read();
      assert.deepEqual([f?.streamId, f?.res.status?.code], [9, Code.UNIMPLEMENTED]);
      // And the connection still serves.
      await raw.write(frame(11, 1, request("test.Svc", "Echo", te.encode("ok"))));
      f = await raw.read();
      assert.equal(f?.streamId, 11);
      assert.equal(td.decode(f!.res.payload), "ok");
    } finally {
      raw.close();
    }
  });
});

Deno.test("ttrpc: garbage and truncated frames close only their own connection", async () => {
  await withServer(async ({ path }) => {
    const good = await TtrpcClient.connect(path);
    try {
      // A header announcing more than is sent, then hang-up.
      let raw = await Raw.open(path);
      await raw.write(frame(1, 1, new Uint8Array(3), 100));
      raw.close();
      // A partial header, then hang-up.
      raw = await Raw.open(path);
      await raw.write(new Uint8Array([0, 0, 0]));
      raw.close();
      // Random bytes: whatever they parse as, the server survives and this connection ends.
      raw = await Raw.open(path);
      const junk = new Uint8Array(4096);
      crypto.getRandomValues(junk);
      junk.set([0, 0, 0, 8, 0, 0, 0, 1, 1, 0], 0); // a first frame that is surely read
      await raw.write(junk);
      raw.conn.closeWrite();
      while ((await raw.read().catch(() => undefined)) !== undefined) { /* drain */ }
      raw.close();
      // The other connection and new ones still work.
      assert.equal(td.decode(await good.call("test.Svc", "Echo", te.encode("alive"))), "alive");
      const fresh = await TtrpcClient.connect(path);
      assert.equal(td.decode(await fresh.call("test.Svc", "Echo", te.encode("new"))), "new");
      fresh.close();
    } finally {
      good.close();
    }
  });
});

Deno.test("ttrpc: a client hanging up mid-call leaves the server serving", async () => {
  await withServer(async ({ path, release }) => {
    const c = await TtrpcClient.connect(path);
    const pending = c.call("test.Svc", "Slow", te.encode("gone"));
    while (!release.has("gone")) await new Promise((r) => setTimeout(r, 1));
    c.close();
    await rejectsWith(pending, Code.UNAVAILABLE, /closed/);
    await rejectsWith(c.call("test.Svc", "Echo", new Uint8Array()), Code.UNAVAILABLE, /closed/);
    // The handler finishes after its connection is gone; its response goes nowhere, quietly.
    release.get("gone")!();
    await new Promise((r) => setTimeout(r, 20));
    const c2 = await TtrpcClient.connect(path);
    try {
      assert.equal(td.decode(await c2.call("test.Svc", "Echo", te.encode("next"))), "next");
    } finally {
      c2.close();
    }
  });
});

Deno.test("ttrpc: client deadline, server close and oversize responses", async () => {
  await withServer(async ({ path, server, release, bigSize }) => {
    const c = await TtrpcClient.connect(path);
    try {
      await rejectsWith(
        c.call("test.Svc", "Slow", te.encode("late"), 30),
        Code.DEADLINE_EXCEEDED,
        /deadline/,
      );
      // A late answer to a call that timed out is dropped; the client keeps working.
      release.get("late")!();
      assert.equal(td.decode(await c.call("test.Svc", "Echo", te.encode("after"))), "after");
      // A response over 4 MiB is refused by the server with a status instead.
      bigSize.n = MAX_MESSAGE + 1;
      await rejectsWith(
        c.call("test.Svc", "Big", new Uint8Array()),
        Code.RESOURCE_EXHAUSTED,
        /exceed maximum/,
      );
      bigSize.n = MAX_MESSAGE - 64;
      assert.equal((await c.call("test.Svc", "Big", new Uint8Array())).length, MAX_MESSAGE - 64);
      // Closing the server fails the calls still waiting.
      const waiting = c.call("test.Svc", "Slow", te.encode("cut"));
      while (!release.has("cut")) await new Promise((r) => setTimeout(r, 1));
      await server.close();
      await rejectsWith(waiting, Code.UNAVAILABLE, /closed/);
      await assert.rejects(TtrpcClient.connect(path));
    } finally {
      c.close();
    }
  });
});

Deno.test("ttrpc: the client takes an oversize or undecodable response as that call's error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denki-ttrpc-" });
  const path = `${dir}/fake.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  try {
    const c = await TtrpcClient.connect(path);
    const conn = await listener.accept();
    const one = c.call("s", "m", new Uint8Array());
    const two = c.call("s", "m", new Uint8Array());
    const three = c.call("s", "m", new Uint8Array());
    // Stream ids 1, 3, 5: answer 3 with an oversize frame, 1 with garbage, 5 properly.
    const huge = frame(3, 2, new Uint8Array(MAX_MESSAGE + 1));
    const bad = frame(1, 2, new Uint8Array([0x0a, 0x7f]));
    const good = frame(5, 2, encode(TtrpcResponse, { payload: te.encode("fine") }));
    const all = new Uint8Array(huge.length + bad.length + good.length);
    all.set(huge);
    all.set(bad, huge.length);
    all.set(good, huge.length + bad.length);
    let off = 0;
    const writing = (async () => {
      while (off < all.length) off += await conn.write(all.subarray(off));
    })();
    await rejectsWith(two, Code.RESOURCE_EXHAUSTED, /exceed maximum/);
    await rejectsWith(one, Code.INTERNAL, /bad response/);
    assert.equal(td.decode(await three), "fine");
    await writing;
    conn.close();
    await c.done;
    c.close();
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
