/**
 * poll_oneoff: clock and fd subscriptions. Regular files are always ready; stdin and sockets
 * are polled with ppoll when the thread may make system calls; clocks sleep for real
 * (Atomics.wait or ppoll's timeout), never in a busy loop.
 */
import { now } from "./clock.ts";
import { POLLERR, POLLHUP, POLLIN, POLLOUT } from "../../../lib/plan/abi.ts";
import { errnoOf, WasiError } from "./errno.ts";
import type { FdEntry } from "./fd_table.ts";
import { type FsContext, sleepMs } from "./fs.ts";
import {
  CLOCK,
  E,
  EVENT,
  EVENT_FD_READWRITE_HANGUP,
  R,
  SUBSCRIPTION_CLOCK_ABSTIME,
} from "./types.ts";

interface Event {
  userdata: bigint;
  error: number;
  type: number;
  nbytes: bigint;
  flags: number;
}

interface FdWait {
  userdata: bigint;
  type: number;
  hostFd: number;
}

/** The host descriptor that can be polled for an entry (stdin, sockets), if any. */
function pollable(e: FdEntry): number | undefined {
  if (e.kind === "stdin") return 0;
  if (e.kind === "socket") return e.socket;
  return undefined;
}

/** poll_oneoff. */
export class Poll {
  constructor(readonly ctx: FsContext) {}

  poll_oneoff(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number {
    if (nsubs === 0) return E.INVAL;
    const { mem, table, native } = this.ctx;
    const events: Event[] = [];
    const waits: FdWait[] = [];
    const clocks: { userdata: bigint; deadline: bigint }[] = [];
    const startMono = now(CLOCK.MONOTONIC, native)!;
    for (let i = 0; i < nsubs; i++) {
      const p = inPtr + i * 48;
      const userdata = mem.u64(p);
      const type = mem.u8(p + 8);
      if (type === EVENT.CLOCK) {
        const id = mem.u32(p + 16);
        const timeout = mem.u64(p + 24);
        const abs = (mem.u16(p + 40) & SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
        const cur = now(id, native);
        if (cur === undefined) {
          events.push({ userdata, error: E.INVAL, type, nbytes: 0n, flags: 0 });
          continue;
        }
        const remaining = abs ? timeout - cur : timeout;
        clocks.push({ userdata, deadline: startMono + (remaining > 0n ? remaining : 0n) });
      } else if (type === EVENT.FD_READ || type === EVENT.FD_WRITE) {
        const fd = mem.u32(p + 16);
        let e: FdEntry;
        try {
          e = table.get(fd, type === EVENT.FD_READ ? R.FD_READ : R.FD_WRITE);
        } catch (err) {
          events.push({ userdata, error: errnoOf(err), type, nbytes: 0n, flags: 0 });
          continue;
        }
        const hostFd = native ? pollable(e) : undefined;
        if (hostFd !== undefined) {
          waits.push({ userdata, type, hostFd });
        } else {
          events.push({ userdata, error: E.SUCCESS, type, nbytes: this.#ready(e, type), flags: 0 });
        }
      } else {
        events.push({ userdata, error: E.INVAL, type, nbytes: 0n, flags: 0 });
      }
    }
    const fire = (t: bigint) => {
      for (const c of clocks) {
        if (c.deadline <= t) {
          events.push({
            userdata: c.userdata,
            error: E.SUCCESS,
            type: EVENT.CLOCK,
            nbytes: 0n,
            flags: 0,
          });
        }
      }
    };
    if (events.length === 0 || waits.length > 0) {
      const earliest = clocks.reduce<bigint | undefined>(
        (m, c) => (m === undefined || c.deadline < m ? c.deadline : m),
        undefined,
      );
      const wait = () => {
        const t = now(CLOCK.MONOTONIC, native)!;
        return earliest === undefined ? undefined : earliest > t ? earliest - t : 0n;
      };
      if (waits.length > 0) {
        // Already-ready events mean no waiting: a zero timeout just collects fd states.
        const timeout = events.length > 0 ? 0n : wait();
        const r = native!.poll(
          waits.map((w) => ({ fd: w.hostFd, events: w.type === EVENT.FD_READ ? POLLIN : POLLOUT })),
          timeout,
        );
        if ("errno" in r) throw new WasiError(E.IO);
        r.forEach((rev, i) => {
          if (rev === 0) return;
          const w = waits[i]!;
          const hup = (rev & (POLLHUP | POLLERR)) !== 0;
          events.push({
            userdata: w.userdata,
            error: E.SUCCESS,
            type: w.type,
            nbytes: 0n,
            flags: hup ? EVENT_FD_READWRITE_HANGUP : 0,
          });
        });
      } else if (clocks.length > 0 && events.length === 0) {
        const ns = wait()!;
        if (ns > 0n) sleepMs(Number(ns) / 1e6);
      }
      if (events.length === 0 || clocks.length > 0) fire(now(CLOCK.MONOTONIC, native)!);
    }
    events.forEach((ev, i) => {
      const p = outPtr + i * 32;
      mem.slice(p, 32).fill(0);
      mem.setU64(p, ev.userdata);
      mem.setU16(p + 8, ev.error);
      mem.setU8(p + 10, ev.type);
      mem.setU64(p + 16, ev.nbytes);
      mem.setU16(p + 24, ev.flags);
    });
    mem.setU32(neventsPtr, events.length);
    return E.SUCCESS;
  }

  /** Bytes ready on an always-ready descriptor: what is left to read of a regular file. */
  #ready(e: FdEntry, type: number): bigint {
    if (type !== EVENT.FD_READ || e.file === undefined) return 0n;
    try {
      const size = e.file.statSync().size;
      const pos = e.file.seekSync(0, Deno.SeekMode.Current);
      return BigInt(Math.max(0, size - pos));
    } catch {
      return 0n;
    }
  }
}
