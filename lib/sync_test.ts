import assert from "node:assert/strict";
import { SyncChannel } from "./sync.ts";
import * as sc from "./sys/syscalls.ts";

Deno.test("SyncChannel: messages both ways, split writes, end of file", () => {
  const [a, b] = sc.socketpair();
  const left = new SyncChannel(a);
  const right = new SyncChannel(b);
  assert.ok(left.send({ type: "bootstrap", config: "x".repeat(100_000) }));
  left.send({ type: "ready", notes: ["n1"] });
  assert.equal((right.receive()?.config as string).length, 100_000);
  assert.deepEqual(right.receive(), { type: "ready", notes: ["n1"] });
  right.close();
  assert.equal(left.receive(), undefined, "the other end closed");
  assert.equal(left.send({ type: "late" }), false, "sending to a closed peer says so");
  left.close();
});

Deno.test("SyncChannel: a message carries a descriptor, also right behind another message", () => {
  const [a, b] = sc.socketpair();
  const [x, y] = sc.socketpair();
  const left = new SyncChannel(a);
  const right = new SyncChannel(b);
  try {
    left.send({ type: "first" });
    assert.ok(left.sendWithFds({ type: "seccompFd" }, [x]));
    assert.equal(right.receive()?.type, "first");
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
  const right = new SyncChannel(b);
  try {
    const msgs = [
      { type: "a", text: "é€😀".repeat(30_000) },
      { type: "b" },
      { type: "c", text: "x".repeat(3_000_000) },
      { type: "d" },
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
  const left = new SyncChannel(a, "the container init", 1000);
  const right = new SyncChannel(b, "create", 1000);
  try {
    assert.throws(() => left.send({ type: "bootstrap", config: "x".repeat(1000) }), {
      message:
        'cannot send the "bootstrap" message to the container init: it has 1033 bytes, more than the 1000 a message may have',
    });
    // A peer that writes past the cap without a newline: the reader stops, it does not buffer on.
    sc.writeAll(a, new TextEncoder().encode('{"type":"ok"}\n' + "y".repeat(5000)));
    assert.deepEqual(right.receive(), { type: "ok" });
    assert.throws(() => right.receive(), {
      message: "message from create is longer than the 1000 bytes a message may have",
    });
    // Exactly at the cap is fine.
    const fits = { type: "t", v: "z".repeat(1000 - 20) };
    assert.equal(JSON.stringify(fits).length, 999);
    const [c, d] = sc.socketpair();
    const l2 = new SyncChannel(c, "x", 1000);
    const r2 = new SyncChannel(d, "y", 1000);
    assert.ok(l2.send(fits));
    assert.deepEqual(r2.receive(), fits);
    l2.close();
    r2.close();
  } finally {
    left.close();
    right.close();
  }
});
