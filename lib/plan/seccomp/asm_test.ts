import assert from "node:assert/strict";
import { Asm, OP } from "./asm.ts";
import { checkProgram, runSeccomp } from "../testing/seccomp_interp.ts";

/** A jump whose both targets lie past `gap` filler instructions; returns the verdicts. */
function farBothWays(gap: number): { len: number; verdicts: number[] } {
  const asm = new Asm();
  const yes = asm.label();
  const no = asm.label();
  asm.load(0);
  asm.jump(OP.JEQ_K, 7, yes, no);
  for (let i = 0; i < gap; i++) asm.ret(0xdead);
  asm.place(yes);
  asm.ret(1);
  for (let i = 0; i < gap; i++) asm.ret(0xbeef);
  asm.place(no);
  asm.ret(2);
  const prog = asm.assemble();
  checkProgram(prog);
  return {
    len: prog.length / 8,
    verdicts: [7, 8].map((nr) => runSeccomp(prog, { nr, arch: 0 })),
  };
}

Deno.test("seccomp asm: short jumps stay short, far ones get one trampoline each", () => {
  const near = farBothWays(100);
  assert.deepEqual(near.verdicts, [1, 2]);
  assert.equal(near.len, 2 + 100 + 1 + 100 + 1, "no trampolines");
  const far = farBothWays(300);
  assert.deepEqual(far.verdicts, [1, 2]);
  assert.equal(far.len, 2 + 2 + 300 + 1 + 300 + 1, "one ja for each side");
  // At the edge: jt reaches over 255 fillers until jf's trampoline pushes it one further.
  const edge = farBothWays(255);
  assert.deepEqual(edge.verdicts, [1, 2]);
  assert.equal(edge.len, 2 + 2 + 255 + 1 + 255 + 1, "the second pass made jt far too");
});

Deno.test("seccomp asm: a label never placed or placed behind is a bug, not a program", () => {
  const asm = new Asm();
  const nowhere = asm.label();
  asm.load(0);
  asm.jump(OP.JEQ_K, 1, nowhere, nowhere);
  assert.throws(() => asm.assemble(), /never placed/);
  const back = new Asm();
  const l = back.label();
  back.place(l);
  back.load(0);
  back.ja(l);
  assert.throws(() => back.assemble(), /backward jump/);
});
