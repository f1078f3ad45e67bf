import assert from "node:assert/strict";
import { checkProgram, runSeccomp } from "./seccomp_interp.ts";

function prog(...insns: [number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const v = new DataView(out.buffer);
  insns.forEach(([code, jt, jf, k], i) => {
    v.setUint16(i * 8, code, true);
    v.setUint8(i * 8 + 2, jt);
    v.setUint8(i * 8 + 3, jf);
    v.setUint32(i * 8 + 4, k, true);
  });
  return out;
}

Deno.test("cbpf interpreter: loads the seccomp_data words little-endian", () => {
  const arg = 0x1122334455667788n;
  const load = (off: number) =>
    runSeccomp(prog([0x20, 0, 0, off], [0x16, 0, 0, 0]), {
      nr: 59,
      arch: 0xc000003e,
      instructionPointer: 0xaabbccdd00112233n,
      args: [0, 0, arg],
    });
  // RET A (0x16) is not in the subset: checkProgram refuses it.
  assert.throws(() => load(0), /unsupported opcode/);
  const eq = (off: number, k: number) =>
    runSeccomp(prog([0x20, 0, 0, off], [0x15, 0, 1, k], [0x06, 0, 0, 1], [0x06, 0, 0, 0]), {
      nr: 59,
      arch: 0xc000003e,
      instructionPointer: 0xaabbccdd00112233n,
      args: [0, 0, arg],
    });
  assert.equal(eq(0, 59), 1);
  assert.equal(eq(4, 0xc000003e), 1);
  assert.equal(eq(8, 0x00112233), 1);
  assert.equal(eq(12, 0xaabbccdd), 1);
  assert.equal(eq(32, 0x55667788), 1, "args[2] low half");
  assert.equal(eq(36, 0x11223344), 1, "args[2] high half");
  assert.equal(eq(36, 0x55667788), 0);
});

Deno.test("cbpf interpreter: refuses what the kernel would", () => {
  assert.throws(() => checkProgram(new Uint8Array(0)), /positive multiple of 8/);
  assert.throws(() => checkProgram(prog([0x20, 0, 0, 2], [0x06, 0, 0, 0])), /load at offset 2/);
  assert.throws(() => checkProgram(prog([0x20, 0, 0, 64], [0x06, 0, 0, 0])), /offset 64/);
  assert.throws(() => checkProgram(prog([0x15, 5, 0, 1], [0x06, 0, 0, 0])), /leaves the program/);
  assert.throws(() => checkProgram(prog([0x05, 0, 0, 1], [0x06, 0, 0, 0])), /leaves the program/);
  assert.throws(() => checkProgram(prog([0x20, 0, 0, 0])), /last instruction is not a return/);
  assert.throws(
    () => runSeccomp(prog([0x15, 0, 0, 1], [0x06, 0, 0, 0]), { nr: 1, arch: 0 }),
    /reads A before any load/,
  );
});
