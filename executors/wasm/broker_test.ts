import assert from "node:assert/strict";
import { brokerChannel, type BrokerRequest, serveBroker } from "./broker.ts";

function answer(channel: SharedArrayBuffer): number {
  return new Int32Array(channel)[1]!;
}

Deno.test("broker: makes a symlink inside a writable mount, refuses anywhere else", () => {
  const dir = Deno.makeTempDirSync({ prefix: "denki-broker-" });
  try {
    Deno.mkdirSync(`${dir}/rw`);
    Deno.mkdirSync(`${dir}/ro`);
    Deno.mkdirSync(`${dir}/outside`);
    // A directory inside the mount that is really a symlink out of it.
    Deno.symlinkSync(`${dir}/outside`, `${dir}/rw/door`);
    const writable = [{ guest: "/", host: `${dir}/rw`, readonly: false }];
    const ask = (link: string) => {
      const channel = brokerChannel();
      const req: BrokerRequest = { type: "broker", op: "symlink", target: "/etc/passwd", link };
      serveBroker(channel, writable, req);
      assert.equal(new Int32Array(channel)[0], 2, "answered");
      return answer(channel);
    };
    assert.equal(ask(`${dir}/rw/made`), 0);
    assert.equal(Deno.readLinkSync(`${dir}/rw/made`), "/etc/passwd");
    assert.notEqual(ask(`${dir}/rw/made`), 0, "an existing name is an error");
    assert.notEqual(ask(`${dir}/ro/made`), 0, "not a writable mount");
    assert.notEqual(ask(`${dir}/rw/door/made`), 0, "a parent that leads outside");
    assert.notEqual(ask(`${dir}/rw/..`), 0);
    assert.deepEqual([...Deno.readDirSync(`${dir}/outside`)], []);
    assert.deepEqual([...Deno.readDirSync(`${dir}/ro`)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
