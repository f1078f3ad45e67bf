import assert from "node:assert/strict";
import { describeErrno, ERRNO, Errno, errnoName } from "./errno.ts";

Deno.test("errno: names and descriptions", () => {
  assert.equal(describeErrno(2), "ENOENT (no such file or directory)");
  assert.equal(describeErrno(Errno.ECONNRESET), "ECONNRESET (connection reset by peer)");
  assert.equal(describeErrno(4095), "errno 4095");
  assert.equal(errnoName(40), "ELOOP");
  assert.equal(errnoName(4095), undefined);
});

Deno.test("errno: each number is written once, the message table is derived from it", () => {
  const numbers = Object.values(Errno);
  assert.equal(new Set(numbers).size, numbers.length, "two names share a number");
  for (const [name, n] of Object.entries(Errno)) {
    assert.equal(ERRNO[n]![0], name);
    assert.ok(ERRNO[n]![1].length > 0, `${name} has a description`);
  }
  assert.equal(Object.keys(ERRNO).length, numbers.length);
});
