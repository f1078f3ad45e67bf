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
