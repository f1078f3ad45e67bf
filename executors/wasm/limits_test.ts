import assert from "node:assert/strict";
import type { Spec } from "../../lib/spec/config.ts";
import { capMemory, guestLimits, MemoryLimitError, RLIMIT_HANDLING } from "./limits.ts";
import { RLIMITS } from "../../lib/plan/rlimits.ts";

// (module (memory (export "memory") 1)): a memory of one page and no maximum.
const ONE_PAGE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x05, 0x03, 0x01, 0x00, 0x01],
  ...[0x07, 0x0a, 0x01, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00],
]);

function memoryOf(bytes: Uint8Array): WebAssembly.Memory {
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  return new WebAssembly.Instance(module).exports.memory as WebAssembly.Memory;
}

function spec(rlimits: { type: string; soft: number | bigint; hard: number | bigint }[]): Spec {
  return { ociVersion: "1.2.0", process: { cwd: "/", args: ["x"], rlimits } } as Spec;
}

Deno.test("limits: every rlimit has a decided meaning for a Wasm guest", () => {
  assert.deepEqual(Object.keys(RLIMIT_HANDLING).sort(), Object.keys(RLIMITS).sort());
  // Nothing that bounds the runtime's own memory, stack, threads or descriptors is set on it.
  for (const t of ["RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_NPROC", "RLIMIT_NOFILE"]) {
    assert.notEqual(RLIMIT_HANDLING[t], "process", t);
  }
});

Deno.test("limits: soft limits map to the guest's memory, descriptors and file size", () => {
  const gib = 1n << 30n;
  const l = guestLimits(spec([
    { type: "RLIMIT_AS", soft: gib, hard: gib },
    { type: "RLIMIT_DATA", soft: 64 << 20, hard: gib },
    { type: "RLIMIT_NOFILE", soft: 64, hard: 1024 },
    { type: "RLIMIT_FSIZE", soft: 1000, hard: 2000 },
    { type: "RLIMIT_CPU", soft: 1, hard: 2 },
    { type: "RLIMIT_STACK", soft: 1 << 20, hard: 1 << 20 },
    { type: "RLIMIT_NPROC", soft: 50, hard: 50 },
  ]));
  assert.deepEqual(l.memory, { pages: 1024, from: "RLIMIT_DATA", bytes: 64n << 20n });
  assert.equal(l.nofile, 64);
  assert.equal(l.fsize, 1000);
  assert.deepEqual(l.process, [{ type: "RLIMIT_CPU", soft: 1n, hard: 2n }]);
  // Unlimited (or beyond what a 32-bit guest can use) is no limit.
  const none = guestLimits(spec([
    { type: "RLIMIT_AS", soft: 0xffffffffffffffffn, hard: 0xffffffffffffffffn },
    { type: "RLIMIT_NOFILE", soft: 0xffffffffffffffffn, hard: 0xffffffffffffffffn },
  ]));
  assert.equal(none.memory, undefined);
  assert.equal(none.nofile, undefined);
});

Deno.test("limits: a capped memory cannot grow past the cap; one that starts above it is refused", () => {
  const free = memoryOf(ONE_PAGE);
  assert.equal(free.grow(3), 1);
  const capped = memoryOf(capMemory(ONE_PAGE, 2));
  assert.equal(capped.grow(1), 1);
  assert.throws(() => capped.grow(1), RangeError);
  assert.equal(capped.buffer.byteLength, 2 * 65536);
  assert.throws(() => capMemory(ONE_PAGE, 0), MemoryLimitError);
  // A smaller declared maximum stays.
  const declared = capMemory(capMemory(ONE_PAGE, 2), 100);
  assert.throws(() => memoryOf(declared).grow(2), RangeError);
  assert.throws(
    () => capMemory(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 9]), 1),
    RangeError,
  );
});
