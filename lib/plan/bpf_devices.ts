/**
 * Builds the BPF_PROG_TYPE_CGROUP_DEVICE program that enforces linux.resources.devices on
 * cgroup v2, which has no devices.allow/devices.deny files: the kernel runs the program on every
 * device open and mknod and allows the access only when it returns 1.
 *
 * Semantics (those of the OCI list and of cgroup v1): the last rule that matches a request
 * decides it; when none matches, the access is denied. The generated code therefore tests the
 * rules from last to first and returns at the first match.
 */

/** One linux.resources.devices entry. */
export interface DeviceRule {
  allow: boolean;
  /** "a" (the default) matches both character and block devices. */
  type?: "a" | "c" | "b";
  /** Missing or negative: any major. */
  major?: number | bigint;
  /** Missing or negative: any minor. */
  minor?: number | bigint;
  /** Letters r, w, m; missing means "rwm". */
  access?: string;
}

/** dev_type values in bpf_cgroup_dev_ctx.access_type (include/uapi/linux/bpf.h). */
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
/** access bits, found in the upper 16 bits of bpf_cgroup_dev_ctx.access_type. */
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;

/** Opcode parts of struct bpf_insn.code that the generated program uses. */
export const BPF = {
  LDX: 0x01,
  ALU64: 0x07,
  JMP: 0x05,
  W: 0x00,
  MEM: 0x60,
  K: 0x00,
  X: 0x08,
  MOV: 0xb0,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  RSH: 0x70,
  JEQ: 0x10,
  JNE: 0x50,
  EXIT: 0x90,
} as const;

/** Encodes one little-endian struct bpf_insn (8 bytes); throws when a field is out of range. */
export function insn(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const fits = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!fits(code, 0, 0xff)) throw new RangeError(`bpf insn: bad opcode ${code}`);
  if (!fits(dst, 0, 10) || !fits(src, 0, 10)) {
    throw new RangeError(`bpf insn: bad register r${dst}/r${src}`);
  }
  // The verifier cannot follow a jump the s16 offset field cannot hold, so fail loudly here.
  if (!fits(off, -0x8000, 0x7fff)) throw new RangeError(`bpf insn: offset ${off} exceeds s16`);
  if (!fits(imm, -0x80000000, 0xffffffff)) {
    throw new RangeError(`bpf insn: immediate ${imm} exceeds 32 bits`);
  }
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint8(0, code);
  view.setUint8(1, (src << 4) | dst);
  view.setInt16(2, off, true);
  view.setInt32(4, imm | 0, true);
  return out;
}

/** The BPF_DEVCG_ACC_* bits of an access string such as "rwm"; throws on any other letter. */
export function accessBits(access: string): number {
  let bits = 0;
  for (const ch of access) {
    if (ch === "r") bits |= BPF_DEVCG_ACC_READ;
    else if (ch === "w") bits |= BPF_DEVCG_ACC_WRITE;
    else if (ch === "m") bits |= BPF_DEVCG_ACC_MKNOD;
    else throw new Error(`invalid device access ${JSON.stringify(access)}: ${JSON.stringify(ch)}`);
  }
  return bits;
}

/** A rule in the form `allow c 1:3 rwm` (wildcards as `*`), for error messages. */
export function describeRule(rule: DeviceRule): string {
  const num = (v: number | bigint | undefined) => (v === undefined || v < 0 ? "*" : String(v));
  const verb = rule.allow ? "allow" : "deny";
  const access = rule.access === undefined ? "rwm" : JSON.stringify(rule.access);
  return `${verb} ${rule.type ?? "a"} ${num(rule.major)}:${num(rule.minor)} ${access}`;
}

// Registers the prologue fills from the context, then two scratch registers.
const R_TYPE = 3;
const R_ACCESS = 4;
const R_MAJOR = 5;
const R_MINOR = 6;
const R_MISMATCH = 7;
const R_TMP = 8;

/** A device number to compare against: undefined for a wildcard, null when no device has it. */
function deviceNumber(v: number | bigint | undefined, what: string): number | undefined | null {
  if (v === undefined) return undefined;
  if (typeof v === "number" && !Number.isInteger(v)) {
    throw new Error(`${what} ${v} is not an integer`);
  }
  if (typeof v !== "number" && typeof v !== "bigint") throw new Error(`${what} is not a number`);
  if (v < 0) return undefined;
  // Kernel majors have 12 bits and minors 20, so a number past the s32 immediate range names
  // no device: the rule can never match and is left out rather than compared wrongly.
  if (v > 0x7fffffff) return null;
  return Number(v);
}

/** An instruction whose jump offset is filled in once the block's length is known. */
type Pending = { code: number; dst: number; src: number; imm: number; skip?: true };

const alu = (op: number, dst: number, src: number, imm: number): Pending => ({
  code: BPF.ALU64 | op,
  dst,
  src,
  imm,
});
const skipIf = (op: number, dst: number, imm: number): Pending => ({
  code: BPF.JMP | op | BPF.K,
  dst,
  src: 0,
  imm,
  skip: true,
});

/**
 * The code for one rule: it jumps past itself when the rule does not match, else returns the
 * verdict; null when the rule can never match.
 *
 * Why arithmetic instead of one JNE per field: after `if r3 != 2` falls through, the verifier
 * knows r3 == 2 and carries that into the next rule when a later field mismatches; facts like
 * that make states differ and defeat its pruning, so verification grows with rules squared
 * (3000 rules exceeded its 1M-instruction budget). Folding every field into r7 and branching
 * once on r7 teaches it nothing about r3..r6, so every path reaches the next rule in one state.
 */
function ruleBlock(rule: DeviceRule): Pending[] | null {
  if (typeof rule.allow !== "boolean") throw new Error("allow must be true or false");
  const type = rule.type ?? "a";
  if (type !== "a" && type !== "c" && type !== "b") {
    throw new Error(`type ${JSON.stringify(type)} is not a, c or b`);
  }
  const major = deviceNumber(rule.major, "major");
  const minor = deviceNumber(rule.minor, "minor");
  const access = accessBits(rule.access ?? "rwm");
  if (major === null || minor === null) return null;

  // Terms that are zero exactly when their part of the rule matches: field ^ wanted, and for
  // an allow rule the requested bits outside `access`.
  const terms: [reg: number, op: number, imm: number][] = [];
  if (type !== "a") {
    terms.push([R_TYPE, BPF.XOR, type === "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK]);
  }
  if (major !== undefined) terms.push([R_MAJOR, BPF.XOR, major]);
  if (minor !== undefined) terms.push([R_MINOR, BPF.XOR, minor]);
  if (rule.allow) terms.push([R_ACCESS, BPF.AND, ~access]);

  const out: Pending[] = [];
  terms.forEach(([reg, op, imm], i) => {
    const dst = i === 0 ? R_MISMATCH : R_TMP;
    out.push(alu(BPF.MOV | BPF.X, dst, reg, 0), alu(op | BPF.K, dst, 0, imm));
    if (i > 0) out.push(alu(BPF.OR | BPF.X, R_MISMATCH, R_TMP, 0));
  });
  if (terms.length > 0) out.push(skipIf(BPF.JNE, R_MISMATCH, 0));
  if (!rule.allow) {
    // A deny rule matches when any requested bit is in `access`: skip when none is.
    out.push(alu(BPF.MOV | BPF.X, R_TMP, R_ACCESS, 0), alu(BPF.AND | BPF.K, R_TMP, 0, access));
    out.push(skipIf(BPF.JEQ, R_TMP, 0));
  }
  out.push(alu(BPF.MOV | BPF.K, 0, 0, rule.allow ? 1 : 0));
  out.push({ code: BPF.JMP | BPF.EXIT, dst: 0, src: 0, imm: 0 });
  return out;
}

/**
 * The cgroup device program for `rules` (OCI order, last match wins, default deny), as
 * concatenated struct bpf_insn. Throws an Error naming the rule when one is invalid.
 */
export function devicesProgram(rules: readonly DeviceRule[]): Uint8Array {
  const code: Uint8Array[] = [
    // Load the whole context once, up front, so later code never touches r1.
    insn(BPF.LDX | BPF.W | BPF.MEM, 2, 1, 0, 0), // r2 = access_type
    insn(BPF.ALU64 | BPF.MOV | BPF.X, R_TYPE, 2, 0, 0),
    insn(BPF.ALU64 | BPF.AND | BPF.K, R_TYPE, 0, 0, 0xffff),
    insn(BPF.ALU64 | BPF.MOV | BPF.X, R_ACCESS, 2, 0, 0),
    insn(BPF.ALU64 | BPF.RSH | BPF.K, R_ACCESS, 0, 0, 16),
    insn(BPF.LDX | BPF.W | BPF.MEM, R_MAJOR, 1, 4, 0),
    insn(BPF.LDX | BPF.W | BPF.MEM, R_MINOR, 1, 8, 0),
  ];
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    let block: Pending[] | null;
    try {
      block = ruleBlock(rule);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`device rule #${i} (${describeRule(rule)}): ${why}`);
    }
    if (block === null) continue;
    // A skip lands on the first instruction after the block, i.e. the previous rule's code.
    block.forEach((p, j) =>
      code.push(insn(p.code, p.dst, p.src, p.skip ? block.length - j - 1 : 0, p.imm))
    );
  }
  code.push(insn(BPF.ALU64 | BPF.MOV | BPF.K, 0, 0, 0, 0), insn(BPF.JMP | BPF.EXIT, 0, 0, 0, 0));

  const prog = new Uint8Array(code.length * 8);
  code.forEach((c, i) => prog.set(c, i * 8));
  return prog;
}
