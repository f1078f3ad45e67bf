/**
 * A tiny eBPF interpreter for the instruction subset devicesProgram emits, so unit tests can
 * check its decisions without root. It is deliberately strict, like the kernel verifier: any
 * opcode outside the subset, reserved field set, uninitialised register read, backward or
 * out-of-range jump, or falling off the end throws, so codegen bugs surface as test failures.
 *
 * Opcodes are decoded here from their own constants rather than shared with the generator, so
 * a wrong constant there does not silently agree with itself. Test support (lib/plan/testing):
 * only tests import it.
 */
import { accessBits, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR } from "../bpf_devices.ts";

/** One device access to decide. */
export interface DeviceRequest {
  type: "c" | "b";
  major: number;
  minor: number;
  access: string;
}

const CLS_LDX = 0x01;
const CLS_ALU = 0x04;
const CLS_JMP = 0x05;
const CLS_ALU64 = 0x07;
const LDX_W_MEM = 0x61;
const SRC_X = 0x08;
const ALU_OR = 0x40;
const ALU_AND = 0x50;
const ALU_LSH = 0x60;
const ALU_RSH = 0x70;
const ALU_XOR = 0xa0;
const ALU_MOV = 0xb0;
const JMP_JA = 0x00;
const JMP_JEQ = 0x10;
const JMP_JSET = 0x40;
const JMP_JNE = 0x50;
const JMP_EXIT = 0x90;

const u64 = (v: bigint) => BigInt.asUintN(64, v);
const u32 = (v: bigint) => BigInt.asUintN(32, v);

/** Runs a BPF_PROG_TYPE_CGROUP_DEVICE program on one request and returns r0 (0 or 1). */
export function runDeviceProgram(prog: Uint8Array, req: DeviceRequest): number {
  if (prog.length === 0 || prog.length % 8 !== 0) {
    throw new Error(`bpf: program length ${prog.length} is not a positive multiple of 8`);
  }
  for (const v of [req.major, req.minor]) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`bpf: bad device ${v}`);
  }
  const devType = req.type === "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
  // struct bpf_cgroup_dev_ctx, keyed by byte offset.
  const ctx = new Map<number, bigint>([
    [0, BigInt((accessBits(req.access) << 16) | devType)],
    [4, BigInt(req.major)],
    [8, BigInt(req.minor)],
  ]);

  const regs: (bigint | undefined)[] = new Array(11).fill(undefined);
  // Only r1 holds the context pointer (copies are not supported), until something overwrites it.
  let ctxReg: number | undefined = 1;
  const view = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const count = prog.length / 8;

  const read = (r: number, pc: number): bigint => {
    if (r === ctxReg) throw new Error(`bpf: insn ${pc}: r${r} is the context pointer`);
    const v = regs[r];
    if (v === undefined) throw new Error(`bpf: insn ${pc}: r${r} is uninitialised`);
    return v;
  };
  const write = (r: number, v: bigint, pc: number) => {
    if (r > 9) throw new Error(`bpf: insn ${pc}: r${r} is read-only`);
    if (r === ctxReg) ctxReg = undefined;
    regs[r] = v;
  };

  let pc = 0;
  for (;;) {
    if (pc >= count) throw new Error(`bpf: fell off the end after insn ${pc - 1}`);
    const at = pc * 8;
    const code = view.getUint8(at);
    const dst = view.getUint8(at + 1) & 0x0f;
    const src = view.getUint8(at + 1) >> 4;
    const off = view.getInt16(at + 2, true);
    const imm = view.getInt32(at + 4, true);
    const bad = (why: string) => new Error(`bpf: insn ${pc} (code 0x${code.toString(16)}): ${why}`);
    if (dst > 10 || src > 10) throw bad("register out of range");
    const cls = code & 0x07;
    const op = code & 0xf0;
    const isX = (code & SRC_X) !== 0;

    if (cls === CLS_ALU || cls === CLS_ALU64) {
      const wide = cls === CLS_ALU64;
      if (off !== 0 || (isX ? imm !== 0 : src !== 0)) throw bad("reserved field set");
      const operand = isX ? read(src, pc) : wide ? u64(BigInt(imm)) : u32(BigInt(imm));
      const bits = wide ? 64n : 32n;
      let result: bigint;
      if (op === ALU_MOV) result = operand;
      else if (op === ALU_AND) result = read(dst, pc) & operand;
      else if (op === ALU_OR) result = read(dst, pc) | operand;
      else if (op === ALU_XOR) result = read(dst, pc) ^ operand;
      else if (op === ALU_LSH || op === ALU_RSH) {
        if (operand >= bits) throw bad(`shift by ${operand}`);
        const v = wide ? read(dst, pc) : u32(read(dst, pc));
        result = op === ALU_LSH ? v << operand : v >> operand;
      } else throw bad("unsupported ALU operation");
      // ALU32 results are zero-extended into the 64-bit register.
      write(dst, wide ? u64(result) : u32(result), pc);
      pc++;
      continue;
    }

    if (cls === CLS_LDX) {
      if (code !== LDX_W_MEM) throw bad("unsupported load");
      if (imm !== 0) throw bad("reserved field set");
      if (src !== ctxReg) throw bad(`load through r${src}, not the context`);
      const value = ctx.get(off);
      if (value === undefined) throw bad(`context offset ${off} is not a u32 field`);
      write(dst, value, pc);
      pc++;
      continue;
    }

    if (cls === CLS_JMP) {
      if (op === JMP_EXIT) {
        if (code !== (CLS_JMP | JMP_EXIT) || dst || src || off || imm) throw bad("bad exit");
        const r0 = read(0, pc);
        // The verifier only accepts 0 or 1 from a cgroup device program.
        if (r0 !== 0n && r0 !== 1n) throw bad(`returns ${r0}, not 0 or 1`);
        return Number(r0);
      }
      if (isX) throw bad("register-operand jumps are not supported");
      if (src !== 0) throw bad("reserved field set");
      let taken: boolean;
      if (op === JMP_JA) {
        if (dst !== 0 || imm !== 0) throw bad("reserved field set");
        taken = true;
      } else {
        const left = read(dst, pc);
        const right = u64(BigInt(imm));
        if (op === JMP_JEQ) taken = left === right;
        else if (op === JMP_JNE) taken = left !== right;
        else if (op === JMP_JSET) taken = (left & right) !== 0n;
        else throw bad("unsupported jump");
      }
      // Backward jumps could loop, which the verifier refuses; the generator never emits them.
      if (off < 0) throw bad(`backward jump by ${off}`);
      const target = pc + 1 + off;
      if (target >= count) throw bad(`jump to ${target} is past the end (${count} insns)`);
      pc = taken ? target : pc + 1;
      continue;
    }

    throw bad("unsupported instruction class");
  }
}
