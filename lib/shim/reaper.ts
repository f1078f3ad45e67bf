/**
 * Exit statuses for the shim: one long-lived process that must learn when each container init
 * and exec process ends without ever blocking its event loop. Every watched process gets a
 * pidfd; one `poll` over all of them (and a wake-up pipe) runs on Deno's blocking pool through
 * a `nonblocking` FFI symbol, so the JS thread only hears about exits. As a child subreaper the
 * shim also inherits orphans of containers without a pid namespace; those are reaped here too,
 * except children someone else waits for (hooks run through Deno.Command, which reaps its own).
 */
import { POLLIN } from "../plan/abi.ts";
import * as sc from "../sys/syscalls.ts";
import { readTextRaw } from "../sys/rawfs.ts";

const PR_SET_CHILD_SUBREAPER = 36;

/** How a process ended, and when (what Wait, State and TaskExit report). */
export interface Exit {
  /** The exit code, or 128 + the signal that killed it (as containerd's runc shim reports). */
  status: number;
  /** Wall-clock time of the reap, in nanoseconds since the epoch. */
  at: bigint;
}

type PollLib = {
  symbols: { poll: (fds: Uint8Array, n: bigint, timeout: number) => Promise<number> };
};

let pollLib: PollLib | undefined;

/** poll(2) on a pool thread: the JS thread goes on while it blocks. */
function pollAsync(fds: Uint8Array, n: number): Promise<number> {
  pollLib ??= Deno.dlopen("libc.so.6", {
    poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  }) as unknown as PollLib;
  return pollLib.symbols.poll(fds, BigInt(n), -1);
}

function nowNs(): bigint {
  const ns = sc.clockNs(0);
  return typeof ns === "bigint" ? ns : BigInt(Date.now()) * 1_000_000n;
}

interface Watch {
  pid: number;
  pidfd: number;
  resolve: (exit: Exit) => void;
}

/** Watches processes (children of this one) and reaps them as they exit. */
export class Reaper {
  #watches = new Map<number, Watch>();
  #wake: [number, number];
  #polling = false;
  #closed = false;
  /** Pids some other part of the process waits for itself (not reaped as orphans). */
  #others: () => Iterable<number>;
  /** True while no orphan may be reaped (a caller waits for a child of its own by pid). */
  #paused: () => boolean;

  constructor(others: () => Iterable<number> = () => [], paused: () => boolean = () => false) {
    this.#others = others;
    this.#paused = paused;
    this.#wake = sc.pipe("reaper wake-up");
  }

  /** Makes this process the reaper of its descendants' orphans (PR_SET_CHILD_SUBREAPER). */
  static becomeSubreaper(): void {
    sc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, "PR_SET_CHILD_SUBREAPER");
  }

  /** Resolves with `pid`'s exit once it has been reaped; `pid` must be a child of this process. */
  watch(pid: number): Promise<Exit> {
    const pidfd = sc.pidfdOpen(pid);
    sc.setCloexec(pidfd, true);
    const exited = new Promise<Exit>((resolve) => {
      this.#watches.set(pidfd, { pid, pidfd, resolve });
    });
    // It may have exited already: reap now rather than wait for a poll round.
    this.#check(pidfd);
    this.#kick();
    return exited;
  }

  /** Pids being watched. */
  pids(): number[] {
    return [...this.#watches.values()].map((w) => w.pid);
  }

  /** Stops the poll loop (pending watches never resolve). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sc.writeAll(this.#wake[1], new Uint8Array([1]), "reaper wake-up");
  }

  #check(pidfd: number): void {
    const w = this.#watches.get(pidfd);
    if (w === undefined) return;
    let done: sc.ExitStatus | undefined;
    try {
      done = sc.reap(pidfd);
    } catch {
      // Reaped by someone else (ECHILD): its status is lost; report it as killed.
      done = { code: 137, signal: 9 };
    }
    if (done === undefined) return;
    this.#watches.delete(pidfd);
    sc.close(pidfd);
    w.resolve({ status: done.code, at: nowNs() });
  }

  #kick(): void {
    if (this.#polling) {
      sc.writeAll(this.#wake[1], new Uint8Array([1]), "reaper wake-up");
      return;
    }
    if (this.#closed) return;
    this.#polling = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    const drain = new Uint8Array(64);
    while (!this.#closed) {
      const fds = [this.#wake[0], ...this.#watches.keys()];
      const buf = new Uint8Array(8 * fds.length);
      const view = new DataView(buf.buffer);
      fds.forEach((fd, i) => {
        view.setInt32(i * 8, fd, true);
        view.setInt16(i * 8 + 4, POLLIN, true);
      });
      await pollAsync(buf, fds.length);
      if (this.#closed) break;
      fds.forEach((fd, i) => {
        if (view.getInt16(i * 8 + 6, true) === 0) return;
        if (i === 0) sc.tryRead(fd, drain);
        else this.#check(fd);
      });
      this.reapOrphans();
      if (this.#watches.size === 0) break;
    }
    this.#polling = false;
    if (this.#closed) {
      for (const fd of this.#wake) sc.close(fd);
    }
  }

  /**
   * Reaps exited children nobody watches: orphans re-parented to this subreaper. Children in
   * `others` (waited for elsewhere) and watched ones are left alone.
   */
  reapOrphans(): void {
    if (this.#paused()) return;
    const keep = new Set([...this.pids(), ...this.#others()]);
    for (const pid of childPids()) {
      if (keep.has(pid)) continue;
      const stat = readTextRaw(`/proc/${pid}/stat`);
      if (stat === undefined || stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z") {
        continue;
      }
      try {
        const fd = sc.pidfdOpen(pid);
        try {
          sc.reap(fd);
        } finally {
          sc.close(fd);
        }
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** This process's children, from /proc/self/task/<tid>/children of every thread. */
function childPids(): number[] {
  const out: number[] = [];
  for (const tid of sc.listDir(`/proc/self/task`)) {
    const text = readTextRaw(`/proc/self/task/${tid}/children`) ?? "";
    for (const p of text.trim().split(/\s+/)) if (p !== "") out.push(Number(p));
  }
  return out;
}
