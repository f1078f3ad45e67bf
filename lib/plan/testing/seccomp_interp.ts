/**
 * A classic-BPF interpreter for seccomp filters, so unit tests can check a compiled filter's
 * decisions without installing it. It accepts only the instructions the compiler emits and,
 * like the kernel's checker, verifies the whole program first: every opcode known, every jump
 * inside the program, loads aligned and within seccomp_data, and a return at the end.
 *
 * Opcodes are decoded from constants of its own rather than the assembler's, so a wrong
 * constant there does not silently agree with itself. Test support (lib/plan/testing): only
 * tests import it.
 */

/** The struct seccomp_data a filter sees. */
export interface SeccompInput {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six arguments (missing ones are 0). */
  args?: readonly (bigint | number)[];
}

const LD_W_ABS = 0x20;
const ALU_AND_K = 0x54;
const JMP_JA = 0x05;
const JMP_JEQ_K = 0x15;
const JMP_JGT_K = 0x25;
const JMP_JGE_K = 0x35;
const JMP_JSET_K = 0x45;
const RET_K = 0x06;
const SECCOMP_DATA_SIZE = 64;

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

function decode(prog: Uint8Array): Insn[] {
  if (prog.length === 0 || prog.length % 8 !== 0) {
    throw new Error(`cbpf: program length ${prog.length} is not a positive multiple of 8`);
  }
  const view = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const out: Insn[] = [];
  for (let at = 0; at < prog.length; at += 8) {
    out.push({
      code: view.getUint16(at, true),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, true),
    });
  }
  return out;
}

/** Checks a program the way the kernel does before accepting it; throws on the first fault. */
export function checkProgram(prog: Uint8Array): void {
  const insns = decode(prog);
  insns.forEach((ins, pc) => {
    const bad = (why: string) =>
      new Error(`cbpf: insn ${pc} (code 0x${ins.code.toString(16)}): ${why}`);
    const inRange = (off: number) => pc + 1 + off < insns.length;
    switch (ins.code) {
      case LD_W_ABS:
        if (ins.k % 4 !== 0 || ins.k >= SECCOMP_DATA_SIZE) throw bad(`load at offset ${ins.k}`);
        return;
      case ALU_AND_K:
      case RET_K:
        return;
      case JMP_JA:
        if (!inRange(ins.k)) throw bad(`jump by ${ins.k} leaves the program`);
        return;
      case JMP_JEQ_K:
      case JMP_JGT_K:
      case JMP_JGE_K:
      case JMP_JSET_K:
        if (!inRange(ins.jt) || !inRange(ins.jf)) {
          throw bad(`jump by ${ins.jt}/${ins.jf} leaves the program`);
        }
        return;
    }
    throw bad("unsupported opcode");
  });
  if (insns[insns.length - 1]!.code !== RET_K) {
    throw new Error("cbpf: the last instruction is not a return");
  }
}

/** The 32-bit word at byte `off` of seccomp_data (little-endian, as on x86 and arm). */
function word(input: SeccompInput, off: number): number {
  if (off === 0) return input.nr >>> 0;
  if (off === 4) return input.arch >>> 0;
  const half = (v: bigint, high: boolean) =>
    Number((high ? BigInt.asUintN(64, v) >> 32n : BigInt.asUintN(64, v)) & 0xffffffffn);
  if (off < 16) return half(input.instructionPointer ?? 0n, off === 12);
  const i = (off - 16) >> 3;
  return half(BigInt(input.args?.[i] ?? 0), (off - 16) % 8 === 4);
}

/** Runs a seccomp filter on one syscall and returns its SECCOMP_RET_* value. */
export function runSeccomp(prog: Uint8Array, input: SeccompInput): number {
  checkProgram(prog);
  const insns = decode(prog);
  let a = 0;
  let aSet = false;
  for (let pc = 0;;) {
    const ins = insns[pc];
    if (ins === undefined) throw new Error(`cbpf: fell off the end after insn ${pc - 1}`);
    const needA = () => {
      if (!aSet) throw new Error(`cbpf: insn ${pc} reads A before any load`);
      return a;
    };
    switch (ins.code) {
      case LD_W_ABS:
        a = word(input, ins.k);
        aSet = true;
        pc++;
        continue;
      case ALU_AND_K:
        a = (needA() & ins.k) >>> 0;
        pc++;
        continue;
      case RET_K:
        return ins.k >>> 0;
      case JMP_JA:
        pc += 1 + ins.k;
        continue;
    }
    const v = needA();
    let taken: boolean;
    if (ins.code === JMP_JEQ_K) taken = v === ins.k;
    else if (ins.code === JMP_JGT_K) taken = v > ins.k;
    else if (ins.code === JMP_JGE_K) taken = v >= ins.k;
    else taken = (v & ins.k) !== 0;
    pc += 1 + (taken ? ins.jt : ins.jf);
  }
}

/** The number of instructions in a program. */
export function programLength(prog: Uint8Array): number {
  return prog.length / 8;
}
