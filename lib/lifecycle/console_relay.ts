/**
 * The caller's side of a container terminal for a foreground `run` (what `runc run` does with
 * a terminal and no console socket): the caller's terminal goes into raw mode and lends its
 * size to the pty, and bytes flow stdin -> master and master -> stdout until the process
 * exits. Deno cannot wrap a raw fd in a stream, so this is a ppoll loop over raw fds that
 * yields to the event loop between rounds (signal listeners and timers keep running).
 */
import { Errno } from "../plan/errno.ts";
import * as pty from "../sys/pty.ts";
import * as sc from "../sys/syscalls.ts";

/** How long one poll round waits before yielding to the event loop. */
const ROUND_MS = 20;
/** After the exit, output still arriving is drained until the pty is quiet this long. */
const QUIET_MS = 100;

/** The caller's terminal as found and changed by attachTerminal. */
export interface AttachedTerminal {
  /** Relays until `pid` (a child of this process) exits, then drains; returns its status. */
  relay(pid: number): Promise<sc.ExitStatus>;
  /** Restores the caller's terminal, stops following its size, closes the master. */
  detach(): void;
}

/** Where the relay reads and writes (the caller's stdio unless a test says otherwise). */
export interface RelayIo {
  stdin: number;
  stdout: number;
}

/**
 * Takes over the caller's terminal for a container's pty master: the first of stdin, stdout
 * and stderr that is a terminal (as runc picks it) goes raw and gives the pty its size, now
 * and on every SIGWINCH. Without a terminal the bytes are relayed all the same.
 */
export function attachTerminal(
  master: number,
  io: RelayIo = { stdin: 0, stdout: 1 },
): AttachedTerminal {
  const host = [0, 1, 2].find((fd) => pty.isTerminal(fd));
  const saved = host === undefined ? undefined : pty.getTermios(host);
  const resize = () => {
    const size = host === undefined ? undefined : pty.getWindowSize(host);
    if (size !== undefined && size.rows > 0 && size.cols > 0) {
      try {
        pty.setWindowSize(master, size);
      } catch {
        // The pty is gone with the container: nothing to resize.
      }
    }
  };
  if (host !== undefined && saved !== undefined) {
    pty.setTermios(host, pty.makeRaw(saved));
    resize();
    Deno.addSignalListener("SIGWINCH", resize);
  }
  let detached = false;
  return {
    relay: (pid) => relay(master, pid, io),
    detach() {
      if (detached) return;
      detached = true;
      if (host !== undefined && saved !== undefined) {
        Deno.removeSignalListener("SIGWINCH", resize);
        try {
          pty.setTermios(host, saved);
        } catch {
          // The caller's terminal went away (hangup): nothing left to restore.
        }
      }
      sc.close(master);
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** Copies between the caller's stdio and the master until `pid` exits. */
async function relay(master: number, pid: number, io: RelayIo): Promise<sc.ExitStatus> {
  pty.setNonblocking(master);
  const buf = new Uint8Array(65536);
  let masterOpen = true;
  let stdinOpen = true;
  let stdoutOpen = true;
  // Input read but not yet taken by the pty (it holds only a few KiB unread).
  let pending: Uint8Array | undefined;

  /** Reads what the master has; false once the pty has no peer left (EIO). */
  const fromMaster = (): boolean => {
    for (;;) {
      const r = sc.tryRead(master, buf);
      if (r.errno === Errno.EAGAIN) return true;
      if (r.errno !== 0 || r.n === 0) return false;
      if (stdoutOpen) {
        try {
          sc.writeAll(io.stdout, buf.subarray(0, r.n), "stdout");
        } catch {
          // The caller stopped reading (EPIPE): keep draining so the workload never blocks.
          stdoutOpen = false;
        }
      }
    }
  };
  const toMaster = () => {
    while (pending !== undefined) {
      const r = pty.writeSome(master, pending);
      if (r.errno === Errno.EAGAIN) return;
      if (r.errno !== 0) {
        // The pty is gone: input has nowhere to go.
        pending = undefined;
        return;
      }
      pending = r.n < pending.length ? pending.subarray(r.n) : undefined;
    }
  };

  const pidfd = sc.pidfdOpen(pid);
  try {
    for (;;) {
      const fds: pty.PollFd[] = [{ fd: pidfd, events: pty.POLLIN }];
      const m = masterOpen
        ? fds.push({ fd: master, events: pty.POLLIN | (pending ? pty.POLLOUT : 0) }) - 1
        : -1;
      const i = stdinOpen && pending === undefined
        ? fds.push({ fd: io.stdin, events: pty.POLLIN }) - 1
        : -1;
      pty.pollFds(fds, ROUND_MS);
      if (m >= 0 && fds[m]!.revents !== 0) {
        if (!fromMaster()) masterOpen = false;
        if (fds[m]!.revents! & pty.POLLOUT) toMaster();
      }
      if (i >= 0 && fds[i]!.revents !== 0) {
        const r = sc.tryRead(io.stdin, buf);
        if (r.errno === Errno.EAGAIN) {
          // Someone else made the caller's stdin non-blocking; try again next round.
        } else if (r.errno !== 0 || r.n === 0) {
          // End of input is not passed on: like runc, the workload keeps its terminal.
          stdinOpen = false;
        } else {
          pending = buf.slice(0, r.n);
          if (masterOpen) toMaster();
          else pending = undefined;
        }
      }
      const status = sc.reap(pidfd);
      if (status !== undefined) {
        if (masterOpen) drain(master, fromMaster);
        return status;
      }
      await tick();
    }
  } finally {
    sc.close(pidfd);
  }
}

/**
 * The last output: what the pty still holds once the process has exited. Processes the
 * container's end takes with it may hold the peer a moment longer, so it reads until the
 * peer is gone (EIO) or nothing came for QUIET_MS.
 */
function drain(master: number, fromMaster: () => boolean): void {
  for (;;) {
    const fds: pty.PollFd[] = [{ fd: master, events: pty.POLLIN }];
    if (pty.pollFds(fds, QUIET_MS) === 0) return;
    if (!fromMaster()) return;
  }
}
