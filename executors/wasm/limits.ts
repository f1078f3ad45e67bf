/**
 * process.rlimits for a Wasm guest. The guest runs inside denki's own Deno process, so a limit
 * that bounds memory, threads, stack or descriptors must never be set on that process (an
 * RLIMIT_AS of 1 GiB kills V8 at its next large reservation). Each limit is instead given the
 * meaning it can have for a guest:
 *
 * - RLIMIT_AS, RLIMIT_DATA: the guest's linear memory may not grow past the smaller soft limit
 *   (memory.grow fails, so malloc returns NULL); a module that needs more to start is refused.
 * - RLIMIT_NOFILE: the guest's descriptor numbers stop below the soft limit (EMFILE).
 * - RLIMIT_FSIZE: writes, fd_allocate and fd_filestat_set_size stop at the soft limit (EFBIG,
 *   after a short write), for files the guest opens; WASI has no signals, so no SIGXFSZ.
 * - RLIMIT_CPU, RLIMIT_CORE, RLIMIT_MEMLOCK, RLIMIT_LOCKS, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE,
 *   RLIMIT_NICE, RLIMIT_RTPRIO, RLIMIT_RTTIME: set on the process itself when the guest starts,
 *   since nothing in the runtime depends on them. RLIMIT_CPU counts the whole process's CPU
 *   time, the runtime's own start-up included.
 * - RLIMIT_STACK, RLIMIT_NPROC, RLIMIT_RSS: nothing to apply (the guest's stack is part of its
 *   linear memory and V8's; WASI preview1 cannot start processes or threads; Linux ignores
 *   RLIMIT_RSS), and never set on the process.
 */
import { DenkiError, SyscallError } from "../../lib/errors.ts";
import { RLIMITS } from "../../lib/plan/rlimits.ts";
import type { Spec } from "../../lib/spec/config.ts";
import * as sc from "../../lib/sys/syscalls.ts";

/** Bytes in a Wasm page. */
export const WASM_PAGE = 65536;
/** Pages a 32-bit memory can have at most (4 GiB). */
const MAX_PAGES = 65536;

/** How a Wasm guest gets each rlimit (see the module comment). */
export const RLIMIT_HANDLING: Readonly<
  Record<string, "memory" | "nofile" | "fsize" | "process" | "none">
> = {
  RLIMIT_AS: "memory",
  RLIMIT_DATA: "memory",
  RLIMIT_NOFILE: "nofile",
  RLIMIT_FSIZE: "fsize",
  RLIMIT_CPU: "process",
  RLIMIT_CORE: "process",
  RLIMIT_MEMLOCK: "process",
  RLIMIT_LOCKS: "process",
  RLIMIT_SIGPENDING: "process",
  RLIMIT_MSGQUEUE: "process",
  RLIMIT_NICE: "process",
  RLIMIT_RTPRIO: "process",
  RLIMIT_RTTIME: "process",
  RLIMIT_STACK: "none",
  RLIMIT_NPROC: "none",
  RLIMIT_RSS: "none",
};

/** What a guest's rlimits become. */
export interface GuestLimits {
  /** The most pages a guest memory may have, and the rlimit that says so. */
  memory?: { pages: number; from: string; bytes: bigint };
  /** Descriptor numbers stop below this. */
  nofile?: number;
  /** Regular files grow no larger than this. */
  fsize?: number;
  /** Set on the process when the guest starts. */
  process: { type: string; soft: bigint; hard: bigint }[];
}

/** The guest limits of a spec's process.rlimits (soft limits are the ones that bind). */
export function guestLimits(spec: Spec): GuestLimits {
  const out: GuestLimits = { process: [] };
  for (const r of spec.process?.rlimits ?? []) {
    const soft = BigInt(r.soft);
    const hard = BigInt(r.hard);
    switch (RLIMIT_HANDLING[r.type]) {
      case "memory": {
        const pages = soft / BigInt(WASM_PAGE);
        if (pages < BigInt(MAX_PAGES) && (out.memory === undefined || pages < out.memory.pages)) {
          out.memory = { pages: Number(pages), from: r.type, bytes: soft };
        }
        break;
      }
      case "nofile":
        if (soft < 1n << 31n) out.nofile = Number(soft);
        break;
      case "fsize":
        if (soft <= BigInt(Number.MAX_SAFE_INTEGER)) out.fsize = Number(soft);
        break;
      case "process":
        out.process.push({ type: r.type, soft, hard });
        break;
    }
  }
  return out;
}

/** The current [soft, hard] of a resource of this process. */
function current(resource: number): [bigint, bigint] {
  const { soft, hard } = sc.getrlimit(resource);
  return [soft, hard];
}

/**
 * Raises the hard limits the process-wide ones need, keeping the soft ones (so nothing binds
 * yet): raising is the step that can be refused (without CAP_SYS_RESOURCE), and this way it
 * is refused at `create`, not after `start`. Lowering, at the last step, cannot fail.
 */
export function prepareProcessLimits(limits: GuestLimits): void {
  for (const { type, soft, hard } of limits.process) {
    const resource = RLIMITS[type]!;
    const [curSoft, curHard] = current(resource);
    if (hard <= curHard) continue;
    try {
      sc.setrlimit(resource, curSoft, hard, type);
    } catch (err) {
      if (err instanceof SyscallError) {
        throw new DenkiError(`cannot set ${type} to ${soft}/${hard}: ${err.message}`);
      }
      throw err;
    }
  }
}

/** Sets the process-wide limits (the guest's last step before it runs). */
export function applyProcessLimits(limits: GuestLimits): void {
  for (const { type, soft, hard } of limits.process) {
    try {
      sc.setrlimit(RLIMITS[type]!, soft, hard, type);
    } catch (err) {
      if (err instanceof SyscallError) {
        throw new DenkiError(`cannot set ${type} to ${soft}/${hard}: ${err.message}`);
      }
      throw err;
    }
  }
}

/** A module whose memory must start larger than the limit allows. */
export class MemoryLimitError extends Error {
  constructor(readonly pages: bigint) {
    super(`the module's memory starts at ${pages} pages`);
  }
}

function readLeb(bytes: Uint8Array, at: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  let i = at;
  for (;;) {
    const b = bytes[i++];
    if (b === undefined || shift > 63n) throw new RangeError("truncated LEB128");
    value |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) return [value, i - at];
  }
}

function leb(value: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(value & 0x7fn);
    value >>= 7n;
    if (value !== 0n) b |= 0x80;
    out.push(b);
  } while (value !== 0n);
  return out;
}

/**
 * The module with every memory it defines given a maximum of at most `maxPages` (so
 * memory.grow beyond it fails). Throws MemoryLimitError when a memory's minimum is already
 * larger, and RangeError when the bytes are not a module (compiling them says why).
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  const cap = BigInt(maxPages);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let off = 8;
  while (off < bytes.length) {
    const id = bytes[off]!;
    const [size, n] = readLeb(bytes, off + 1);
    const start = off + 1 + n;
    const end = start + Number(size);
    if (end > bytes.length) throw new RangeError("truncated section");
    if (id !== 5) {
      parts.push(bytes.subarray(off, end));
      off = end;
      continue;
    }
    // The memory section: a count, then limits (flags: 1 has a maximum, 2 shared, 4 memory64).
    const content: number[] = [];
    let at = start;
    const [count, c] = readLeb(bytes, at);
    at += c;
    content.push(...leb(count));
    for (let i = 0n; i < count; i++) {
      const [flags, f] = readLeb(bytes, at);
      at += f;
      const [min, m] = readLeb(bytes, at);
      at += m;
      let max = cap;
      if (flags & 1n) {
        const [declared, d] = readLeb(bytes, at);
        at += d;
        if (declared < max) max = declared;
      }
      if (min > cap) throw new MemoryLimitError(min);
      content.push(...leb(flags | 1n), ...leb(min), ...leb(max));
    }
    if (at !== end) throw new RangeError("malformed memory section");
    parts.push(Uint8Array.from([5, ...leb(BigInt(content.length)), ...content]));
    off = end;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
