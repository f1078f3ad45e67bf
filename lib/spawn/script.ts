/**
 * Syscall scripts for the native stage (stage.c): a list of system calls with their arguments,
 * written down by TypeScript and carried out by a single-threaded program with no runtime of its
 * own. Building a script is pure (no I/O), so the exact order of calls is unit-testable; the
 * binary layout here must match the structs in stage.c.
 */
import { describeErrno, ERRNO } from "../plan/errno.ts";
import { type SyscallName, syscallNumber } from "../sys/nr.ts";
import {
  ARG_DATA,
  ARG_SLOT,
  F_BRANCH,
  F_EXIT_EOF,
  F_EXPECT,
  F_IGNORE,
  F_ON_ERROR,
  F_ON_OK,
  HEADER_SIZE,
  INS_SIZE,
  MAGIC,
  MAX_SLOTS,
  N_NAMES,
  OP,
} from "./format.ts";

/** A register of the stage: holds one call's result for later arguments (an fd, a pid). */
export class Slot {
  constructor(readonly index: number) {}
}

/** An address in the script's data: a string, a struct or an array the stage points a call at. */
export class Data {
  constructor(readonly offset: number) {}
}

/** A place in a script that jumps go to; bound to a step with `Script.bind`. */
export class Label {
  at: number | undefined;
}

/** A call argument: a number, a slot's value, or the address of script data. */
export type Arg = number | bigint | Slot | Data;

/** How a call's result is judged. */
export interface CallOptions {
  /** Keeps the result for later arguments. */
  into?: Slot;
  /** errnos that are not failures (at most two). */
  ok?: readonly number[];
  /** Any error is fine. */
  ignore?: boolean;
  /** The result must equal this. */
  expect?: number | bigint;
  /** A result of 0 (end of file) exits quietly with this status. */
  exitOnEof?: number;
  /** A failure not tolerated otherwise jumps here (with -errno in `into`) instead of failing. */
  onError?: Label;
  /** Success jumps here. */
  onOk?: Label;
}

/** One step, as tests and error messages see it. */
export interface Step {
  op:
    | "syscall"
    | "poke32"
    | "poke64"
    | "exit"
    | "jump"
    | "report"
    | "load32"
    | "format"
    | "set"
    | "reports"
    | "fail"
    | "load64"
    | "special";
  /** The syscall name (syscall steps). */
  call?: SyscallName;
  args: readonly Arg[];
  /** What the step does, for messages: "setns into the container's mount namespace". */
  what: string;
  opts: CallOptions;
  /** fork: the parent side; jump: where to. */
  target?: Label;
}

/** Text reports are cut to this; the stage's line buffer is 1 KiB. */
const MAX_MESSAGE = 400;

/** How the stage reports a failed step. */
export interface ReportOptions {
  /** The fd failures are written to. */
  fd: number;
  /** A second fd for a text report (the exec fifo, so `start` learns it too). */
  fd2?: number;
  /** Exit status after a failure. */
  failCode: number;
  /** One line of text for people (the container's stderr); else JSON lines for denki. */
  text: boolean;
}

/** A syscall script under construction. */
export class Script {
  readonly #steps: Step[] = [];
  #data = new Uint8Array(256);
  #dataLen = 0;
  readonly #relocs: number[] = [];
  #slots = 0;
  readonly #free: Slot[] = [];
  #reportsChange = false;
  readonly #strings = new Map<string, Data>();

  constructor(readonly arch: string) {}

  /** A new slot (or one given back with `release`). */
  slot(): Slot {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    if (this.#slots >= MAX_SLOTS) throw new Error("stage script: out of slots");
    return new Slot(this.#slots++);
  }

  /** Gives slots back for later steps to use (their values are no longer needed). */
  release(...slots: Slot[]): void {
    this.#free.push(...slots);
  }

  /** A new label, bound later with `bind`. */
  label(): Label {
    return new Label();
  }

  /** Binds a label to the next step added. */
  bind(label: Label): void {
    if (label.at !== undefined) throw new Error("stage script: a label bound twice");
    label.at = this.#steps.length;
  }

  /** Copies bytes into the data (8-byte aligned) and returns their address. */
  bytes(b: Uint8Array): Data {
    const at = this.#reserve(b.length);
    this.#data.set(b, at);
    return new Data(at);
  }

  /** A NUL-terminated string; strings the kernel would cut at a NUL are refused. */
  str(s: string): Data {
    // Strings are never written to: each is stored once however often it is used.
    const known = this.#strings.get(s);
    if (known !== undefined) return known;
    if (s.includes("\0")) throw new Error(`stage script: string contains a NUL byte`);
    const b = encoder.encode(s);
    const out = new Uint8Array(b.length + 1);
    out.set(b);
    const data = this.bytes(out);
    this.#strings.set(s, data);
    return data;
  }

  /** `n` zero bytes (a buffer the kernel fills, or a struct poked later). */
  zeros(n: number): Data {
    return new Data(this.#reserve(n));
  }

  /** An array of u64: numbers as they are, Data entries as addresses. */
  words(items: readonly (Data | bigint | number)[]): Data {
    const at = this.#reserve(items.length * 8);
    const view = new DataView(this.#data.buffer);
    items.forEach((item, i) => {
      if (item instanceof Data) {
        view.setBigUint64(at + 8 * i, BigInt(item.offset), true);
        this.#relocs.push(at + 8 * i);
      } else {
        view.setBigUint64(at + 8 * i, BigInt.asUintN(64, BigInt(item)), true);
      }
    });
    return new Data(at);
  }

  /** A NULL-terminated array of C strings (argv, envp). */
  strings(list: readonly string[]): Data {
    return this.words([...list.map((s) => this.str(s)), 0]);
  }

  /** Adds a system call; returns its step index. */
  call(name: SyscallName, args: readonly Arg[], what: string, opts: CallOptions = {}): number {
    if (args.length > 6) throw new Error(`stage script: ${name} takes at most 6 arguments`);
    if ((opts.ok?.length ?? 0) > 2) throw new Error("stage script: at most two ok errnos");
    return this.#push({ op: "syscall", call: name, args, what, opts });
  }

  /**
   * A fork: `clone(flags)` whose child carries on with the next step while the parent jumps to
   * the step `parentAt` marks later (call it with the returned index). The child's pid goes to
   * `into` in the parent.
   */
  fork(flags: number, into: Slot, what: string): number {
    const at = this.call("clone", [flags, 0, 0, 0, 0], what, { into });
    this.#steps[at]!.target = new Label();
    return at;
  }

  /** Makes the parent side of fork step `forkStep` start at the next step added. */
  parentAt(forkStep: number): void {
    const step = this.#steps[forkStep];
    if (step?.call !== "clone" || step.target === undefined) {
      throw new Error("stage script: parentAt needs a fork step");
    }
    this.bind(step.target);
  }

  /** Jumps to a label. */
  jump(to: Label, what = "jump"): number {
    return this.#push({ op: "jump", args: [], what, opts: {}, target: to });
  }

  /** Puts a value (a number, another slot, an address) into a slot. */
  set(into: Slot, value: Arg, what: string): number {
    return this.#push({ op: "set", args: [value], what, opts: { into } });
  }

  /** Writes `prefix` and a value in decimal into new data (say "/proc/self/fd/" and a fd). */
  format(prefix: string, value: Arg, what: string, capacity = 64): Data {
    const out = this.zeros(capacity);
    this.#push({ op: "format", args: [value, this.str(prefix), out, capacity], what, opts: {} });
    return out;
  }

  /**
   * From here on, failures are reported as text (true) or JSON (false) on `fd` (and `fd2`, -1
   * for none), and end the stage with `failCode`: JSON to denki while it listens, then one line
   * for people.
   */
  reports(
    text: boolean,
    fd: Arg,
    fd2: Arg,
    failCode: number,
    what = "change where failures go",
  ): number {
    this.#reportsChange = true;
    return this.#push({ op: "reports", args: [text ? 1 : 0, fd, fd2, failCode], what, opts: {} });
  }

  /** Fails here with `errno`, reported with `what` like any failing step. */
  fail(errno: number, what: string): number {
    return this.#push({ op: "fail", args: [errno], what, opts: {} });
  }

  /**
   * A step only denki's TypeScript interpreter carries out (running a hook, say): `kind` names
   * it, `payload` is text it gets. The native stage refuses such a script.
   */
  special(kind: string, payload: string, what: string): number {
    return this.#push({ op: "special", args: [this.str(kind), this.str(payload)], what, opts: {} });
  }

  /** True when the script has steps only the TypeScript interpreter can carry out. */
  get needsInterpreter(): boolean {
    return this.#steps.some((s) => s.op === "special");
  }

  /** Writes a slot's (or a number's) low 32 or 64 bits into the data. */
  poke(value: Arg, at: Data, width: 32 | 64, what: string): number {
    return this.#push({
      op: width === 32 ? "poke32" : "poke64",
      args: [value, at],
      what,
      opts: {},
    });
  }

  /** Reads a value the kernel wrote into the data (pipe2's fds, a statx field) into a slot. */
  load(from: Data, into: Slot, what: string, width: 32 | 64 = 32): number {
    const op = width === 32 ? "load32" : "load64";
    return this.#push({ op, args: [from.offset], what, opts: { into } });
  }

  /** Sends `{"type":TYPE,"value":V}` on fd: how a stage tells denki a number. */
  report(fd: Arg, type: string, value: Arg, what: string): number {
    if (!/^[a-z-]+$/.test(type)) throw new Error(`stage script: bad report type ${type}`);
    return this.#push({ op: "report", args: [fd, this.str(type), value], what, opts: {} });
  }

  /** Exits with `code`. */
  exit(code: number, what = "exit"): number {
    return this.#push({ op: "exit", args: [code], what, opts: {} });
  }

  /** The steps so far (for tests and messages). */
  get steps(): readonly Step[] {
    return this.#steps;
  }

  /** What step `index` did, for an error message. */
  describe(index: number): string {
    return this.#steps[index]?.what ?? `step ${index}`;
  }

  /** The binary script the stage reads. */
  build(report: ReportOptions): Uint8Array {
    // Plain loops here and in #encode: this runs cold in every `create`, on every step.
    for (let i = 0; i < this.#steps.length; i++) {
      const st = this.#steps[i]!;
      for (const l of [st.target, st.opts.onError, st.opts.onOk]) {
        if (l !== undefined && l.at === undefined) {
          throw new Error(`stage script: step ${i} jumps to an unbound label`);
        }
      }
    }
    const text = report.text || this.#reportsChange;
    const names = text ? this.#errnoNames() : undefined;
    // Only steps that can fail while reports are text need their message.
    const firstText = report.text
      ? 0
      : this.#steps.findIndex((st) => st.op === "reports" && st.args[0] === 1);
    const messages = text
      ? this.#steps.map((st, i) =>
        firstText >= 0 && i >= firstText ? this.str(st.what.slice(0, MAX_MESSAGE)).offset : 0
      )
      : undefined;
    const codeOff = HEADER_SIZE;
    const codeLen = this.#steps.length * INS_SIZE;
    const dataOff = codeOff + codeLen;
    const relocOff = align8(dataOff + this.#dataLen);
    const msgsOff = relocOff + align8(this.#relocs.length * 4);
    const namesOff = msgsOff + align8((messages?.length ?? 0) * 4);
    const size = namesOff + (names ? N_NAMES * 4 : 0);
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    v.setBigUint64(0, MAGIC, true);
    v.setUint32(8, size, true);
    v.setUint32(12, codeOff, true);
    v.setUint32(16, this.#steps.length, true);
    v.setUint32(20, dataOff, true);
    v.setUint32(24, this.#dataLen, true);
    v.setUint32(28, relocOff, true);
    v.setUint32(32, this.#relocs.length, true);
    v.setInt32(36, report.fd, true);
    v.setInt32(40, report.fd2 ?? -1, true);
    v.setInt32(44, report.failCode, true);
    v.setUint32(48, report.text ? 1 : 0, true);
    v.setUint32(52, messages ? msgsOff : 0, true);
    v.setUint32(56, names ? namesOff : 0, true);
    this.#steps.forEach((s, i) => this.#encode(v, codeOff + i * INS_SIZE, s));
    out.set(this.#data.subarray(0, this.#dataLen), dataOff);
    this.#relocs.forEach((r, i) => v.setUint32(relocOff + 4 * i, r, true));
    messages?.forEach((m, i) => v.setUint32(msgsOff + 4 * i, m, true));
    names?.forEach((n, i) => v.setUint32(namesOff + 4 * i, n, true));
    return out;
  }

  #errnoNames(): number[] {
    const out = new Array<number>(N_NAMES).fill(0);
    for (const key of Object.keys(ERRNO)) {
      const e = Number(key);
      if (e < N_NAMES) out[e] = this.str(describeErrno(e)).offset;
    }
    return out;
  }

  #encode(v: DataView, at: number, s: Step): void {
    const o = s.opts;
    const jumps = (s.target !== undefined ? 1 : 0) + (o.onError !== undefined ? 1 : 0) +
      (o.onOk !== undefined ? 1 : 0);
    if (jumps > 1) throw new Error("stage script: a step has one jump at most");
    const branch = s.op === "syscall" && s.target !== undefined;
    const flags = (o.ignore ? F_IGNORE : 0) | (o.expect !== undefined ? F_EXPECT : 0) |
      (o.exitOnEof !== undefined ? F_EXIT_EOF : 0) | (branch ? F_BRANCH : 0) |
      (o.onError ? F_ON_ERROR : 0) | (o.onOk ? F_ON_OK : 0);
    const target = s.target ?? o.onError ?? o.onOk;
    v.setUint16(at, OP[s.op], true);
    v.setUint16(at + 2, flags, true);
    v.setInt16(at + 4, o.into?.index ?? -1, true);
    v.setUint32(at + 8, s.call ? syscallNumber(s.call, this.arch) : 0, true);
    v.setUint32(at + 12, target?.at ?? 0, true);
    v.setUint32(at + 16, o.ok?.[0] ?? 0, true);
    v.setUint32(at + 20, o.ok?.[1] ?? 0, true);
    v.setBigInt64(at + 24, BigInt(o.expect ?? o.exitOnEof ?? 0), true);
    for (let i = 0; i < s.args.length; i++) {
      const a = s.args[i]!;
      const p = at + 32 + 16 * i;
      if (a instanceof Slot) {
        v.setUint32(p, ARG_SLOT, true);
        v.setUint32(p + 8, a.index, true);
      } else if (a instanceof Data) {
        v.setUint32(p, ARG_DATA, true);
        v.setUint32(p + 8, a.offset, true);
      } else if (typeof a === "number" && Number.isInteger(a) && a >= 0 && a <= 0xffffffff) {
        v.setUint32(p + 8, a, true);
      } else {
        v.setBigInt64(p + 8, BigInt.asIntN(64, BigInt(a)), true);
      }
    }
  }

  #push(step: Step): number {
    this.#steps.push(step);
    return this.#steps.length - 1;
  }

  #reserve(n: number): number {
    const at = align8(this.#dataLen);
    const end = at + n;
    if (end > this.#data.length) {
      const grown = new Uint8Array(Math.max(end, this.#data.length * 2));
      grown.set(this.#data.subarray(0, this.#dataLen));
      this.#data = grown;
    }
    this.#dataLen = end;
    return at;
  }
}

const encoder = new TextEncoder();

function align8(n: number): number {
  return (n + 7) & ~7;
}
