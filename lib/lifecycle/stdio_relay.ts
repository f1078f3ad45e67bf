/**
 * Stdio through pipes for a foreground process without a terminal (`run`, `exec`), as runc
 * relays it: the container's process sees pipes, never the caller's own files, which it could
 * otherwise reopen through /proc/self/fd (a log file, a host path). Bytes flow stdin -> pipe
 * and pipes -> stdout/stderr in a ppoll loop over raw fds that yields to the event loop between
 * rounds (signal forwarding keeps working).
 */
import { Errno } from "../plan/errno.ts";
import * as pty from "../sys/pty.ts";
import * as sc from "../sys/syscalls.ts";

const ROUND_MS = 20;
/** After the exit, output still arriving is drained until the pipes are quiet this long. */
const QUIET_MS = 100;

/** The pipes between the caller and a process: its ends (for the stage) and ours. */
export interface StdioPipes {
  /** What the process gets as fds 0, 1, 2 (inherited by the stage, then closed here). */
  child: [number, number, number];
  /** Closes the process's ends in this process once it has them. */
  closeChildEnds(): void;
  /** Relays until `pid` (a child of this process) exits, then drains; returns its status. */
  relay(pid: number): Promise<sc.ExitStatus>;
  /** Closes everything. */
  close(): void;
}

/** Makes the three pipes; the child's ends are inheritable. */
export function stdioPipes(): StdioPipes {
  const [inR, inW] = sc.pipe("stdio");
  const [outR, outW] = sc.pipe("stdio");
  const [errR, errW] = sc.pipe("stdio");
  for (const fd of [inR, outW, errW]) sc.setCloexec(fd, false);
  let childOpen = true;
  // Ours until a relay takes them over (it closes them as each ends).
  let mine = [inW, outR, errR];
  const closeChildEnds = () => {
    if (!childOpen) return;
    childOpen = false;
    for (const fd of [inR, outW, errW]) sc.close(fd);
  };
  return {
    child: [inR, outW, errW],
    closeChildEnds,
    relay: (pid) => {
      mine = [];
      return relay(pid, { inW, outR, errR });
    },
    close() {
      closeChildEnds();
      for (const fd of mine) sc.close(fd);
      mine = [];
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

async function relay(
  pid: number,
  ends: { inW: number; outR: number; errR: number },
): Promise<sc.ExitStatus> {
  for (const fd of [ends.inW, ends.outR, ends.errR]) pty.setNonblocking(fd);
  const buf = new Uint8Array(65536);
  // Output pipes still open, each with where its bytes go.
  const outputs = new Map([[ends.outR, 1], [ends.errR, 2]]);
  let stdinOpen = true;
  let inputOpen = true;
  let pending: Uint8Array | undefined;
  const closeInput = () => {
    if (!inputOpen) return;
    inputOpen = false;
    // End of input reaches the process as end of file on its stdin.
    sc.close(ends.inW);
  };
  const copyOut = (fd: number): boolean => {
    for (;;) {
      const r = sc.tryRead(fd, buf);
      if (r.errno === Errno.EAGAIN) return true;
      if (r.errno !== 0 || r.n === 0) return false;
      try {
        sc.writeAll(outputs.get(fd)!, buf.subarray(0, r.n), "stdio");
      } catch {
        // The caller stopped reading: keep draining so the process never blocks on a pipe.
      }
    }
  };
  const pushIn = () => {
    while (pending !== undefined && inputOpen) {
      const r = pty.writeSome(ends.inW, pending);
      if (r.errno === Errno.EAGAIN) return;
      if (r.errno !== 0) {
        pending = undefined;
        closeInput();
        return;
      }
      pending = r.n < pending.length ? pending.subarray(r.n) : undefined;
    }
    if (!stdinOpen) closeInput();
  };
  const pidfd = sc.pidfdOpen(pid);
  try {
    for (;;) {
      const fds: pty.PollFd[] = [{ fd: pidfd, events: pty.POLLIN }];
      for (const fd of outputs.keys()) fds.push({ fd, events: pty.POLLIN });
      const w = inputOpen && pending ? fds.push({ fd: ends.inW, events: pty.POLLOUT }) - 1 : -1;
      const i = stdinOpen && pending === undefined
        ? fds.push({ fd: 0, events: pty.POLLIN }) - 1
        : -1;
      pty.pollFds(fds, ROUND_MS);
      for (const p of fds.slice(1)) {
        if (outputs.has(p.fd) && p.revents !== 0 && !copyOut(p.fd)) {
          outputs.delete(p.fd);
          sc.close(p.fd);
        }
      }
      if (w >= 0 && fds[w]!.revents !== 0) pushIn();
      if (i >= 0 && fds[i]!.revents !== 0) {
        const r = sc.tryRead(0, buf);
        if (r.errno === Errno.EAGAIN) {
          // Someone else made the caller's stdin non-blocking: next round.
        } else if (r.errno !== 0 || r.n === 0) {
          stdinOpen = false;
          if (pending === undefined) closeInput();
        } else {
          pending = buf.slice(0, r.n);
          pushIn();
        }
      }
      const status = sc.reap(pidfd);
      if (status !== undefined) {
        drain(outputs, copyOut);
        return status;
      }
      await tick();
    }
  } finally {
    sc.close(pidfd);
    closeInput();
    for (const fd of outputs.keys()) sc.close(fd);
    outputs.clear();
  }
}

/** Output the process left behind: read until every pipe ends or nothing comes for a while. */
function drain(outputs: Map<number, number>, copyOut: (fd: number) => boolean): void {
  while (outputs.size > 0) {
    const fds: pty.PollFd[] = [...outputs.keys()].map((fd) => ({ fd, events: pty.POLLIN }));
    if (pty.pollFds(fds, QUIET_MS) === 0) return;
    for (const p of fds) {
      if (p.revents !== 0 && !copyOut(p.fd)) {
        outputs.delete(p.fd);
        sc.close(p.fd);
      }
    }
  }
}
