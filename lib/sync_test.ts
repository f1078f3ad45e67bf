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
