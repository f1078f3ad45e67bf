/**
 * A small classic-BPF assembler for seccomp filters: instructions jump to labels, and
 * `assemble` lays them out. Conditional jumps hold 8-bit offsets (at most 255 instructions
 * forward) while BPF_JA holds 32 bits, so a conditional branch whose target is farther gets a
 * trampoline: the branch lands on a `ja` placed right after it, which goes the rest of the way.
 * Adding trampolines moves code and can push other branches out of range, so layout repeats
 * until nothing changes (a branch once made far stays far, so this ends).
 */

/** Opcodes (include/uapi/linux/filter.h and bpf_common.h) of the instructions emitted. */
export const OP = {
  LD_W_ABS: 0x20,
  ALU_AND_K: 0x54,
  JA: 0x05,
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JSET_K: 0x45,
  RET_K: 0x06,
} as const;

/** The conditional jumps. */
export type JumpOp = typeof OP.JEQ_K | typeof OP.JGT_K | typeof OP.JGE_K | typeof OP.JSET_K;

/** A jump target, placed with `Asm.place`. */
export type Label = number & { readonly __label: unique symbol };

type Item =
  | { kind: "label"; label: Label }
  | { kind: "plain"; code: number; k: number }
  | { kind: "ja"; to: Label }
  | { kind: "jump"; code: JumpOp; k: number; jt: Label; jf: Label; farT: boolean; farF: boolean };

/** Longest conditional jump offset (jt and jf are u8). */
const MAX_SHORT = 255;

/** Collects instructions and labels, then encodes them as struct sock_filter. */
export class Asm {
  #items: Item[] = [];
  #labels = 0;

  /** A new, not yet placed label. */
  label(): Label {
    return this.#labels++ as Label;
  }

  /** Places `label` before the next instruction. */
  place(label: Label): void {
    this.#items.push({ kind: "label", label });
  }

  /** A = the 32-bit word at byte `offset` of seccomp_data. */
  load(offset: number): void {
    this.#items.push({ kind: "plain", code: OP.LD_W_ABS, k: offset });
  }

  /** A &= k. */
  and(k: number): void {
    this.#items.push({ kind: "plain", code: OP.ALU_AND_K, k: k >>> 0 });
  }

  /** Returns `k` as the filter's verdict. */
  ret(k: number): void {
    this.#items.push({ kind: "plain", code: OP.RET_K, k: k >>> 0 });
  }

  /** Jumps to `to` unconditionally. */
  ja(to: Label): void {
    this.#items.push({ kind: "ja", to });
  }

  /** Jumps to `jt` when `A <op> k` holds, else to `jf` (unsigned comparisons). */
  jump(code: JumpOp, k: number, jt: Label, jf: Label): void {
    this.#items.push({ kind: "jump", code, k: k >>> 0, jt, jf, farT: false, farF: false });
  }

  /** The program as sock_filter structs (8 bytes each: u16 code, u8 jt, u8 jf, u32 k). */
  assemble(): Uint8Array {
    const items = this.#items;
    const size = (it: Item) =>
      it.kind === "label" ? 0 : it.kind === "jump" ? 1 + +it.farT + +it.farF : 1;
    let addr: Map<Label, number>;
    for (;;) {
      addr = new Map();
      let pc = 0;
      for (const it of items) {
        if (it.kind === "label") addr.set(it.label, pc);
        pc += size(it);
      }
      // Decide on this layout first, then change it: addresses must match the sizes used.
      const far: [Item & { kind: "jump" }, "farT" | "farF"][] = [];
      pc = 0;
      for (const it of items) {
        if (it.kind === "jump") {
          // A short branch's offset counts from the instruction after the jump itself.
          if (!it.farT && target(addr, it.jt, pc) - (pc + 1) > MAX_SHORT) far.push([it, "farT"]);
          if (!it.farF && target(addr, it.jf, pc) - (pc + 1) > MAX_SHORT) far.push([it, "farF"]);
        }
        pc += size(it);
      }
      if (far.length === 0) break;
      for (const [it, side] of far) it[side] = true;
    }

    const out: [number, number, number, number][] = [];
    let pc = 0;
    for (const it of items) {
      if (it.kind === "label") continue;
      if (it.kind === "plain") out.push([it.code, 0, 0, it.k]);
      else if (it.kind === "ja") out.push([OP.JA, 0, 0, target(addr, it.to, pc) - (pc + 1)]);
      else {
        const t = target(addr, it.jt, pc);
        const f = target(addr, it.jf, pc);
        // Trampolines follow the jump: the far jt's first, then the far jf's.
        const tramp: number[] = [];
        if (it.farT) tramp.push(t);
        if (it.farF) tramp.push(f);
        const jt = it.farT ? 0 : t - (pc + 1);
        const jf = it.farF ? tramp.length - 1 : f - (pc + 1);
        out.push([it.code, jt, jf, it.k]);
        tramp.forEach((to, i) => {
          const at = pc + 1 + i;
          out.push([OP.JA, 0, 0, to - (at + 1)]);
        });
      }
      pc += size(it);
    }

    const prog = new Uint8Array(out.length * 8);
    const view = new DataView(prog.buffer);
    out.forEach(([code, jt, jf, k], i) => {
      if (jt < 0 || jt > MAX_SHORT || jf < 0 || jf > MAX_SHORT || k < 0) {
        throw new Error(`seccomp asm: bad jump at ${i} (jt ${jt}, jf ${jf}, k ${k})`);
      }
      view.setUint16(i * 8, code, true);
      view.setUint8(i * 8 + 2, jt);
      view.setUint8(i * 8 + 3, jf);
      view.setUint32(i * 8 + 4, k, true);
    });
    return prog;
  }
}

/** A label's address; jumps only go forward, so a target at or before `pc` is a bug. */
function target(addr: Map<Label, number>, label: Label, pc: number): number {
  const to = addr.get(label);
  if (to === undefined) throw new Error(`seccomp asm: label ${label} was never placed`);
  if (to <= pc) throw new Error(`seccomp asm: backward jump from ${pc} to ${to}`);
  return to;
}
