import assert from "node:assert/strict";
import { initEnd, runtimeEnd } from "./sync.ts";
import { type BootstrapMessage, encodeMessage } from "./sync/messages.ts";
import * as sc from "./sys/syscalls.ts";

/** A bootstrap message carrying `config`. */
function bootstrap(config: string): BootstrapMessage {
  return {
    type: "bootstrap",
    config,
    configFile: "/b/config.json",
    bundle: "/b",
    rootfs: "/b/rootfs",
    id: "c1",
    stateDir: "/run/denki/c1",
    noPivot: false,
    noNewKeyring: false,
    preserveFds: 0,
    executor: "linux",
    sandbox: false,
  };
}

Deno.test("SyncChannel: messages both ways, end of file", () => {
  const [a, b] = sc.socketpair();
  const runtime = runtimeEnd(a);
  const init = initEnd(b);
  assert.ok(runtime.send(bootstrap("x".repeat(100_000))));
  init.send({ type: "ready", notes: ["n1"] });
  const boot = init.receive();
  assert.equal(boot?.type, "bootstrap");
  assert.equal(boot.config.length, 100_000);
  assert.deepEqual(runtime.receive(), { type: "ready", notes: ["n1"] });
  init.close();
  assert.equal(runtime.receive(), undefined, "the other end closed");
  assert.equal(runtime.send({ type: "ok" }), false, "sending to a closed peer says so");
  runtime.close();
});

Deno.test("SyncChannel: a message carries a descriptor, also right behind another message", () => {
  const [a, b] = sc.socketpair();
  const [x, y] = sc.socketpair();
  const left = initEnd(a);
  const right = runtimeEnd(b);
  try {
    left.send({ type: "hello" });
    assert.ok(left.sendWithFds({ type: "seccompFd" }, [x]));
    assert.equal(right.receive()?.type, "hello");
    assert.equal(right.receive()?.type, "seccompFd");
    const fds = right.takeFds();
    assert.equal(fds.length, 1);
    assert.deepEqual(right.takeFds(), [], "handed over once");
    // The received fd is the same socket: what goes in one end comes out at y.
    sc.writeAll(fds[0]!, new TextEncoder().encode("hi"));
    const buf = new Uint8Array(8);
    assert.equal(sc.read(y, buf), 2);
    sc.close(fds[0]!);
  } finally {
    for (const fd of [x, y]) sc.close(fd);
    left.close();
    right.close();
  }
});

/** Spawns a child that writes `bytes` to fd `fd` in odd-sized pieces, then exits. */
function writer(fd: number, text: string): number {
  const file = Deno.makeTempFileSync();
  Deno.writeTextFileSync(file, text);
  const code = `
    const sc = await import(${JSON.stringify(new URL("./sys/syscalls.ts", import.meta.url).href)});
    const bytes = Deno.readFileSync(${JSON.stringify(file)});
    Deno.removeSync(${JSON.stringify(file)});
    // Odd sizes, so lines and multi-byte characters straddle every kind of boundary.
    for (let off = 0, size = 1; off < bytes.length; off += size, size = (size * 7 + 3) % 40000 + 1) {
      sc.writeAll(${fd}, bytes.subarray(off, Math.min(off + size, bytes.length)));
    }`;
  return sc.spawn(Deno.execPath(), [Deno.execPath(), "eval", "--no-config", "-A", code], []);
}

Deno.test("SyncChannel: lines split anywhere, several in one read, UTF-8 across reads", async () => {
  const [a, b] = sc.socketpair();
  const right = runtimeEnd(b);
  try {
    const msgs = [
      { type: "error", message: "é€😀".repeat(30_000) },
      { type: "hello" },
      { type: "ready", phases: "x".repeat(3_000_000) },
      { type: "hooks" },
    ];
    const pid = writer(a, msgs.map((m) => JSON.stringify(m) + "\n").join(""));
    sc.close(a);
    const got = msgs.map(() => right.receive());
    assert.deepEqual(got, msgs);
    assert.equal(right.receive(), undefined, "the writer is done");
    assert.equal((await sc.waitChild(pid)).code, 0);
  } finally {
    right.close();
  }
});

Deno.test("SyncChannel: a message over the cap is refused on both sides, clearly", () => {
  const [a, b] = sc.socketpair();
  const left = runtimeEnd(a, "the container init", 1000);
  const right = initEnd(b, 1000);
  try {
    const big = bootstrap("x".repeat(1000));
    const size = encodeMessage(big).length;
    assert.ok(size > 1000);
    assert.throws(() => left.send(big), {
      message:
        `cannot send the "bootstrap" message to the container init: it has ${size} bytes, more than the 1000 a message may have`,
    });
    // A peer that writes past the cap without a newline: the reader stops, it does not buffer on.
    sc.writeAll(a, new TextEncoder().encode('{"type":"ok"}\n' + "y".repeat(5000)));
    assert.deepEqual(right.receive(), { type: "ok" });
    assert.throws(() => right.receive(), {
      message: "message from create is longer than the 1000 bytes a message may have",
    });
    // Exactly at the cap is fine.
    const fits = { type: "error", message: "z".repeat(1000 - 30) } as const;
    assert.equal(JSON.stringify(fits).length, 999);
    const [c, d] = sc.socketpair();
    const l2 = initEnd(c, 1000);
    const r2 = runtimeEnd(d, "x", 1000);
    assert.ok(l2.send(fits));
    assert.deepEqual(r2.receive(), fits);
    l2.close();
    r2.close();
  } finally {
    left.close();
    right.close();
  }
});
