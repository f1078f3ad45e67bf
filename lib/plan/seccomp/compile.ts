/**
 * Compiles `linux.seccomp` to a classic BPF seccomp filter, without libseccomp. The program
 * is a plain value (sock_filter structs) so tests can run it through testing/seccomp_interp.ts.
 *
 * Semantics, following runc on libseccomp where the runtime-spec is silent:
 * - Architectures: the native one always, plus those listed that its kernel runs (x86 and
 *   x32 on x86_64, arm on aarch64). Listed ones it cannot run are skipped with a note.
 * - A syscall from any other ABI (a wrong seccomp_data.arch, or an x32 call when x32 is not
 *   listed: x32 shares AUDIT_ARCH_X86_64 and is told apart by __X32_SYSCALL_BIT) gets
 *   SECCOMP_RET_KILL_PROCESS. libseccomp's bad-arch default kills too (the thread); killing
 *   the process is the stricter choice, and a half-killed process helps no one.
 * - Names resolve per ABI; a name an ABI lacks is left out there, and a name no selected ABI
 *   knows is skipped with a note (runc logs and ignores unknown names too).
 * - Entries whose action equals the default action are redundant and dropped, as libseccomp
 *   refuses them and runc skips them.
 * - Entries for one syscall are alternatives, tried in profile order: the first whose
 *   conditions all hold decides. When an entry lists several conditions on the same argument,
 *   runc turns each condition into a rule of its own (any may match), and so does this.
 * - Arguments are 64 bits, compared high half then low half; on 32-bit ABIs (x86, x32, arm)
 *   only the low halves are compared, as libseccomp does.
 */
import { DenkiError, quote } from "../../errors.ts";
import type { Seccomp } from "../../spec/config.ts";
import { Errno } from "../errno.ts";
import { Asm, type Label, OP } from "./asm.ts";
import {
  AUDIT_ARCH,
  COMPAT_ARCHES,
  is32Bit,
  SCMP_ARCHES,
  type SeccompArch,
  syscallNr,
  X32_SYSCALL_BIT,
} from "./tables.ts";

/** SECCOMP_RET_* (include/uapi/linux/seccomp.h). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

/** SECCOMP_FILTER_FLAG_* (include/uapi/linux/seccomp.h). */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  WAIT_KILLABLE_RECV: 32,
} as const;

/** BPF_MAXINSNS: the longest classic BPF program the kernel accepts. */
export const BPF_MAXINSNS = 4096;

/** What the init installs. */
export interface CompiledSeccomp {
  /** struct sock_filter[], 8 bytes each: u16 code, u8 jt, u8 jf, u32 k. */
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER). */
  flags: number;
  /** Some action is SCMP_ACT_NOTIFY: the filter comes with a listener fd. */
  notify: boolean;
  /** What was skipped and why, for the debug log. */
  notes: string[];
}

/** The native architectures denki builds filters on. */
export type NativeArch = keyof typeof COMPAT_ARCHES;

const { EPERM } = Errno;
const SECCOMP_DATA_NR = 0;
const SECCOMP_DATA_ARCH = 4;
const SECCOMP_DATA_ARGS = 16;
/** Simple checks between two pools of return instructions: keeps their jumps short. */
const CHUNK = 200;

type Syscall = NonNullable<Seccomp["syscalls"]>[number];
type Arg = NonNullable<Syscall["args"]>[number];

/** One alternative for a syscall: all `conds` must hold for `ret` to be the verdict. */
interface Rule {
  conds: Arg[];
  ret: number;
}

const fail = (path: string, message: string) => new DenkiError(`${path}: ${message}`);

/** The SECCOMP_RET_* value of an action; `errnoRet` feeds ERRNO and TRACE. */
function actionValue(action: string, errnoRet: number | undefined, path: string): number {
  const data = (fallback: number) => {
    const v = errnoRet ?? fallback;
    // Only the low 16 bits reach the kernel (SECCOMP_RET_DATA): a larger value would change.
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw fail(`${path}`, `${v} does not fit in the 16 bits of SECCOMP_RET_DATA`);
    }
    return v;
  };
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return SECCOMP_RET.KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return SECCOMP_RET.KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return SECCOMP_RET.TRAP;
    case "SCMP_ACT_ERRNO":
      return (SECCOMP_RET.ERRNO | data(EPERM)) >>> 0;
    case "SCMP_ACT_TRACE":
      // runc hands the tracer EPERM unless errnoRet says otherwise.
      return (SECCOMP_RET.TRACE | data(EPERM)) >>> 0;
    case "SCMP_ACT_ALLOW":
      return SECCOMP_RET.ALLOW;
    case "SCMP_ACT_LOG":
      return SECCOMP_RET.LOG;
    case "SCMP_ACT_NOTIFY":
      return SECCOMP_RET.USER_NOTIF;
  }
  throw fail(path, `unknown action ${quote(String(action))}`);
}

/** The ABIs the filter covers, in the order the arch dispatch tests them. */
function selectArches(s: Seccomp, native: NativeArch, note: (m: string) => void): SeccompArch[] {
  const out: SeccompArch[] = [native];
  for (const [i, name] of (s.architectures ?? []).entries()) {
    const arch = SCMP_ARCHES[name];
    if (arch === undefined) {
      note(`linux.seccomp.architectures[${i}]: unsupported architecture ${name}, skipped`);
    } else if (arch !== native && !COMPAT_ARCHES[native].includes(arch)) {
      note(`linux.seccomp.architectures[${i}]: ${name} does not run on ${native}, skipped`);
    } else if (!out.includes(arch)) out.push(arch);
  }
  return out;
}

/** The filter flags asked for, plus NEW_LISTENER when a notify fd is needed. */
function filterFlags(s: Seccomp, notify: boolean, note: (m: string) => void): number {
  let flags = notify ? SECCOMP_FILTER_FLAG.NEW_LISTENER : 0;
  for (const flag of s.flags ?? []) {
    if (flag === "SECCOMP_FILTER_FLAG_LOG") flags |= SECCOMP_FILTER_FLAG.LOG;
    else if (flag === "SECCOMP_FILTER_FLAG_SPEC_ALLOW") flags |= SECCOMP_FILTER_FLAG.SPEC_ALLOW;
    else if (flag === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
      // The kernel refuses it without a listener, and without one it means nothing.
      if (notify) flags |= SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
      else note(`linux.seccomp.flags: ${flag} ignored: no action is SCMP_ACT_NOTIFY`);
    } else if (flag === "SECCOMP_FILTER_FLAG_TSYNC") {
      // The filter goes on the one thread that then execs the workload: nothing to sync.
      note(`linux.seccomp.flags: ${flag} not needed, ignored`);
    }
  }
  return flags;
}

/** Checks one condition and normalises its values to bigint. */
function checkArg(a: Arg, path: string): Arg {
  if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
    throw fail(`${path}.index`, `must be from 0 to 5, not ${a.index}`);
  }
  const u64 = (v: number | bigint | undefined, field: string) => {
    const b = BigInt(v ?? 0);
    if (b < 0n || b > 0xffffffffffffffffn) throw fail(`${path}.${field}`, `${b} is not a u64`);
    return b;
  };
  return { ...a, value: u64(a.value, "value"), valueTwo: u64(a.valueTwo, "valueTwo") };
}

/** The rules of one entry: one with every condition, or (runc) one per condition. */
function entryRules(c: Syscall, ret: number, path: string): Rule[] {
  const args = (c.args ?? []).map((a, j) => checkArg(a, `${path}.args[${j}]`));
  const indexes = new Set(args.map((a) => a.index));
  if (indexes.size === args.length) return [{ conds: args, ret }];
  return args.map((a) => ({ conds: [a], ret }));
}

const hi32 = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
const lo32 = (v: bigint) => Number(v & 0xffffffffn);

/**
 * Emits the test of one condition: continues at `ok` when it holds, else jumps to `no`.
 * 64-bit: the high halves decide unless equal, then the low halves (unsigned throughout).
 */
function emitCond(asm: Asm, c: Arg, wide: boolean, ok: Label, no: Label): void {
  const lo = SECCOMP_DATA_ARGS + 8 * c.index;
  const hi = lo + 4;
  const value = BigInt(c.value);
  switch (c.op) {
    case "SCMP_CMP_EQ":
    case "SCMP_CMP_NE": {
      const [t, f] = c.op === "SCMP_CMP_EQ" ? [ok, no] : [no, ok];
      if (wide) {
        const lowHalf = asm.label();
        asm.load(hi);
        asm.jump(OP.JEQ_K, hi32(value), lowHalf, f);
        asm.place(lowHalf);
      }
      asm.load(lo);
      asm.jump(OP.JEQ_K, lo32(value), t, f);
      return;
    }
    case "SCMP_CMP_GT":
    case "SCMP_CMP_GE":
    case "SCMP_CMP_LT":
    case "SCMP_CMP_LE": {
      // LT is "not GE" and LE is "not GT": the same tests with the outcomes swapped.
      const op = c.op === "SCMP_CMP_GT" || c.op === "SCMP_CMP_LE" ? OP.JGT_K : OP.JGE_K;
      const [t, f] = c.op === "SCMP_CMP_GT" || c.op === "SCMP_CMP_GE" ? [ok, no] : [no, ok];
      if (wide) {
        const notAbove = asm.label();
        const lowHalf = asm.label();
        asm.load(hi);
        asm.jump(OP.JGT_K, hi32(value), t, notAbove);
        asm.place(notAbove);
        asm.jump(OP.JEQ_K, hi32(value), lowHalf, f);
        asm.place(lowHalf);
      }
      asm.load(lo);
      asm.jump(op, lo32(value), t, f);
      return;
    }
    case "SCMP_CMP_MASKED_EQ": {
      // runtime-spec and libseccomp: `value` is the mask, `valueTwo` the expected bits.
      const datum = BigInt(c.valueTwo ?? 0);
      if (wide) {
        const lowHalf = asm.label();
        asm.load(hi);
        asm.and(hi32(value));
        asm.jump(OP.JEQ_K, hi32(datum), lowHalf, no);
        asm.place(lowHalf);
      }
      asm.load(lo);
      asm.and(lo32(value));
      asm.jump(OP.JEQ_K, lo32(datum), ok, no);
      return;
    }
  }
  throw new DenkiError(`unknown seccomp operator ${quote(String(c.op))}`);
}

/** The rules of one ABI, grouped by syscall number in first-seen order. */
type Section = Map<number, Rule[]>;

/** One ABI's part of the filter: A holds nothing useful on entry; ends in returns only. */
function emitSection(asm: Asm, section: Section, wide: boolean, defaultRet: number): void {
  const simple: [number, number][] = [];
  const complex: [number, Rule[]][] = [];
  for (const [nr, rules] of section) {
    const first = rules[0]!;
    if (first.conds.length === 0) simple.push([nr, first.ret]);
    else complex.push([nr, rules]);
  }
  if (section.size > 0) asm.load(SECCOMP_DATA_NR);
  // Unconditional syscalls: one comparison each, jumping to a shared return per action.
  for (let i = 0; i < simple.length; i += CHUNK) {
    const pool = new Map<number, Label>();
    const after = asm.label();
    for (const [nr, ret] of simple.slice(i, i + CHUNK)) {
      let to = pool.get(ret);
      if (to === undefined) pool.set(ret, to = asm.label());
      const next = asm.label();
      asm.jump(OP.JEQ_K, nr, to, next);
      asm.place(next);
    }
    asm.ja(after);
    for (const [ret, label] of pool) {
      asm.place(label);
      asm.ret(ret);
    }
    asm.place(after);
  }
  // Syscalls with conditions: each alternative in order, then the default.
  for (const [nr, rules] of complex) {
    const body = asm.label();
    const nextNr = asm.label();
    asm.jump(OP.JEQ_K, nr, body, nextNr);
    asm.place(body);
    for (const rule of rules) {
      const nextRule = asm.label();
      for (const cond of rule.conds) {
        const ok = asm.label();
        emitCond(asm, cond, wide, ok, nextRule);
        asm.place(ok);
      }
      asm.ret(rule.ret);
      asm.place(nextRule);
    }
    asm.ret(defaultRet);
    asm.place(nextNr);
  }
  asm.ret(defaultRet);
}

/** Compiles `linux.seccomp` for a kernel of `nativeArch`. Throws DenkiError naming the field. */
export function compileSeccomp(
  seccomp: Seccomp,
  nativeArch: NativeArch,
  log?: (msg: string) => void,
): CompiledSeccomp {
  const notes: string[] = [];
  const note = (m: string) => {
    notes.push(m);
    log?.(m);
  };
  const defaultRet = actionValue(
    seccomp.defaultAction,
    seccomp.defaultErrnoRet,
    seccomp.defaultErrnoRet === undefined
      ? "linux.seccomp.defaultAction"
      : "linux.seccomp.defaultErrnoRet",
  );
  const syscalls = seccomp.syscalls ?? [];
  const notify = seccomp.defaultAction === "SCMP_ACT_NOTIFY" ||
    syscalls.some((c) => c.action === "SCMP_ACT_NOTIFY");
  if (notify && !seccomp.listenerPath) {
    throw fail("linux.seccomp.listenerPath", "is required by SCMP_ACT_NOTIFY");
  }
  const arches = selectArches(seccomp, nativeArch, note);
  const sections = new Map<SeccompArch, Section>(arches.map((a) => [a, new Map()]));

  syscalls.forEach((c, i) => {
    const path = `linux.seccomp.syscalls[${i}]`;
    const ret = actionValue(
      c.action,
      c.errnoRet,
      c.errnoRet === undefined ? `${path}.action` : `${path}.errnoRet`,
    );
    const rules = entryRules(c, ret, path);
    if (ret === defaultRet) return;
    c.names.forEach((name, j) => {
      let known = false;
      for (const arch of arches) {
        const nr = syscallNr(arch, name);
        if (nr === undefined) continue;
        known = true;
        const section = sections.get(arch)!;
        const list = section.get(nr) ?? [];
        // After an unconditional rule, later ones for the same syscall can never apply.
        if (list.length === 0 || list[list.length - 1]!.conds.length > 0) list.push(...rules);
        section.set(nr, list);
      }
      if (!known) {
        note(
          `${path}.names[${j}]: unknown syscall ${quote(name)} on ${arches.join(", ")}, skipped`,
        );
      }
    });
  });

  const asm = new Asm();
  const badArch = asm.label();
  // Dispatch on the audit arch; x86_64 and x32 share one and split on the x32 bit.
  const audits = [...new Set(arches.map((a) => AUDIT_ARCH[a]))];
  const entry = new Map(audits.map((v) => [v, asm.label()]));
  asm.load(SECCOMP_DATA_ARCH);
  for (const v of audits) {
    const next = asm.label();
    asm.jump(OP.JEQ_K, v, entry.get(v)!, next);
    asm.place(next);
  }
  asm.place(badArch);
  asm.ret(SECCOMP_RET.KILL_PROCESS);
  const start = new Map(arches.map((a) => [a, asm.label()]));
  for (const v of audits) {
    asm.place(entry.get(v)!);
    const group = arches.filter((a) => AUDIT_ARCH[a] === v);
    if (v === AUDIT_ARCH.x86_64) {
      // x32 calls carry __X32_SYSCALL_BIT; an ABI not listed is a bad arch. badArch lies
      // behind this point and jumps only go forward, so the refusal is repeated here.
      const bad = asm.label();
      const pick = (a: SeccompArch) => (group.includes(a) ? start.get(a)! : bad);
      asm.load(SECCOMP_DATA_NR);
      asm.jump(OP.JSET_K, X32_SYSCALL_BIT, pick("x32"), pick("x86_64"));
      asm.place(bad);
      asm.ret(SECCOMP_RET.KILL_PROCESS);
    }
    for (const arch of group) {
      asm.place(start.get(arch)!);
      emitSection(asm, sections.get(arch)!, !is32Bit(arch), defaultRet);
    }
  }

  const program = asm.assemble();
  const count = program.length / 8;
  if (count > BPF_MAXINSNS) {
    throw fail(
      "linux.seccomp",
      `the filter needs ${count} BPF instructions, more than the kernel's ${BPF_MAXINSNS}`,
    );
  }
  return { program, flags: filterFlags(seccomp, notify, note), notify, notes };
}
