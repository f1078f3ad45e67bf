/**
 * The native stage's twin in TypeScript: it carries out the same binary script (script.ts) with
 * the same rules, one FFI system call per step, inside a Deno process. A container init that
 * must stay in Deno (a Wasm workload, hooks that run in the container) applies its plan with it,
 * so that one compiled plan is the only description of what an init does. Steps only Deno can
 * do (`special`) call back into denki; a fork is refused (a Deno process cannot fork).
 */
import { Errno } from "../plan/errno.ts";
import { callByNumber } from "../sys/call.ts";
import {
  ARG_DATA,
  ARG_SLOT,
  F_BRANCH,
  F_EXIT_EOF,
  F_EXPECT,
  F_IGNORE,
  F_ON_ERROR,
  F_ON_OK,
  INS_SIZE,
  MAGIC,
  MAX_SLOTS,
  N_NAMES,
  OP,
} from "./format.ts";

/** What the interpreter cannot do itself. */
export interface Host {
  /** Carries out a `special` step; throwing fails it with errno 0 and the thrown message. */
  special(kind: string, payload: string): Promise<void>;
  /** Writes a report line to an fd (the channel to denki, stderr, the exec fifo). */
  write(fd: number, text: string): void;
  /** Ends the process (a script's `exit`, or a failure). */
  exit(code: number): never;
  /** The clone syscall number, refused here. */
  cloneNr: number;
  /** Makes one system call (tests record them instead); the kernel's by default. */
  syscall?: (nr: number, args: readonly bigint[]) => bigint;
}

/** A failure while interpreting: which step, and the errno (0: unexpected result). */
export class ScriptFailure extends Error {
  constructor(readonly step: number, readonly errno: number, message: string) {
    super(message);
  }
}

/** Runs a built script to its end (or its exit, or a failure, which it reports and exits on). */
export async function interpret(bytes: Uint8Array, host: Host): Promise<void> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getBigUint64(0, true) !== MAGIC) throw new Error("interpret: not a stage script");
  const u32 = (o: number) => v.getUint32(o, true);
  const codeOff = u32(12);
  const nIns = u32(16);
  const dataOff = u32(20);
  const dataLen = u32(24);
  const relocOff = u32(28);
  const nRelocs = u32(32);
  let failCode = v.getInt32(44, true);
  const msgsOff = u32(52);
  const namesOff = u32(56);
  let text = u32(48) !== 0;
  const syscall = host.syscall ?? callByNumber;
  let fd = v.getInt32(36, true);
  let fd2 = v.getInt32(40, true);
  // The data, in memory of its own, with pointers rebased to where it lives now.
  const data = bytes.slice(dataOff, dataOff + dataLen);
  const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(data)));
  const dv = new DataView(data.buffer);
  for (let i = 0; i < nRelocs; i++) {
    const off = u32(relocOff + 4 * i);
    dv.setBigUint64(off, dv.getBigUint64(off, true) + base, true);
  }
  const cstr = (off: number) => {
    let end = off;
    while (end < data.length && data[end] !== 0) end++;
    return new TextDecoder().decode(data.subarray(off, end));
  };
  const slots = new Array<bigint>(MAX_SLOTS).fill(-1n);
  const arg = (at: number): bigint => {
    const kind = u32(at);
    const value = v.getBigInt64(at + 8, true);
    if (kind === ARG_SLOT) return slots[Number(value)] ?? 0n;
    if (kind === ARG_DATA) return base + value;
    return value;
  };
  const fail = (index: number, errno: number, thrown?: string): never => {
    if (text) {
      const msg = msgsOff ? u32(msgsOff + 4 * index) : 0;
      const name = namesOff && errno > 0 && errno < N_NAMES ? u32(namesOff + 4 * errno) : 0;
      const why = thrown ?? (name ? cstr(name) : errno ? `errno ${errno}` : "unexpected result");
      const line = `${msg ? cstr(msg) : "denki: stage step failed"}: ${why}\n`;
      host.write(fd, line);
      if (fd2 >= 0) host.write(fd2, line);
    } else {
      const said = thrown === undefined ? "" : `,"message":${JSON.stringify(thrown)}`;
      host.write(fd, `{"type":"stage-fail","step":${index},"errno":${errno}${said}}\n`);
    }
    host.exit(failCode);
  };
  for (let ip = 0; ip < nIns;) {
    const at = codeOff + ip * INS_SIZE;
    const op = v.getUint16(at, true);
    const flags = v.getUint16(at + 2, true);
    const dst = v.getInt16(at + 4, true);
    const nr = u32(at + 8);
    const target = u32(at + 12);
    const ok = [u32(at + 16), u32(at + 20)];
    const expect = v.getBigInt64(at + 24, true);
    const a = (i: number) => arg(at + 32 + 16 * i);
    const into = (value: bigint) => {
      if (dst >= 0 && dst < MAX_SLOTS) slots[dst] = value;
    };
    switch (op) {
      case OP.syscall: {
        if (nr === host.cloneNr) fail(ip, Errno.ENOSYS);
        let r: bigint;
        do {
          r = syscall(nr, [a(0), a(1), a(2), a(3), a(4), a(5)]);
        } while (r === -BigInt(Errno.EINTR));
        into(r);
        if (r < 0n && r > -4096n) {
          const errno = Number(-r);
          if (!(flags & F_IGNORE) && !ok.includes(errno)) {
            if (flags & F_ON_ERROR) {
              ip = target;
              continue;
            }
            fail(ip, errno);
          }
        } else {
          if ((flags & F_EXPECT) && r !== expect) fail(ip, 0);
          if ((flags & F_EXIT_EOF) && r === 0n) host.exit(Number(expect));
          if (flags & F_ON_OK) {
            ip = target;
            continue;
          }
        }
        if ((flags & F_BRANCH) && r !== 0n) {
          ip = target;
          continue;
        }
        break;
      }
      case OP.poke32:
      case OP.poke64: {
        const off = Number(v.getBigInt64(at + 32 + 16 + 8, true));
        if (op === OP.poke32) dv.setUint32(off, Number(BigInt.asUintN(32, a(0))), true);
        else dv.setBigUint64(off, BigInt.asUintN(64, a(0)), true);
        break;
      }
      case OP.exit:
        host.exit(Number(v.getBigInt64(at + 32 + 8, true)));
        break;
      case OP.jump:
        ip = target;
        continue;
      case OP.report: {
        const name = cstr(Number(a(1) - base));
        host.write(Number(a(0)), `{"type":"${name}","value":${a(2)}}\n`);
        break;
      }
      case OP.load32:
      case OP.load64: {
        const off = Number(v.getBigInt64(at + 32 + 8, true));
        into(op === OP.load32 ? BigInt(dv.getInt32(off, true)) : dv.getBigInt64(off, true));
        break;
      }
      case OP.format: {
        const line = `${cstr(Number(a(1) - base))}${a(0)}`;
        const off = Number(v.getBigInt64(at + 64 + 8, true));
        const cap = Number(v.getBigInt64(at + 80 + 8, true));
        const bytes = new TextEncoder().encode(line);
        if (bytes.length + 1 > cap) fail(ip, Errno.ENAMETOOLONG);
        data.set(bytes, off);
        data[off + bytes.length] = 0;
        break;
      }
      case OP.set:
        into(a(0));
        break;
      case OP.reports:
        text = a(0) !== 0n;
        fd = Number(a(1));
        fd2 = Number(a(2));
        failCode = Number(a(3));
        break;
      case OP.fail:
        fail(ip, Number(a(0)));
        break;
      case OP.special: {
        try {
          await host.special(cstr(Number(a(0) - base)), cstr(Number(a(1) - base)));
        } catch (err) {
          fail(ip, 0, err instanceof Error ? err.message : String(err));
        }
        break;
      }
      default:
        fail(ip, Errno.EINVAL);
    }
    ip++;
  }
  void data;
}
