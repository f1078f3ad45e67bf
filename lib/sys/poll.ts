/**
 * ppoll(2), written once: the relays, `start`, waiting for a child and the Wasm guest's
 * poll_oneoff all go through `ppoll`. It is never retried on EINTR: a relay wants to see the
 * signal at once (it yields to the event loop, where signal forwarding runs), and so does a
 * guest's poll_oneoff.
 */
import { syscall } from "./libc.ts";

export { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT } from "../plan/abi.ts";

/** One descriptor to watch and what happened to it. */
export interface PollFd {
  fd: number;
  events: number;
  revents?: number;
}

/**
 * Waits up to `timeoutNs` (undefined: without a limit) until one of `fds` is ready; fills in
 * each `revents` (0 when the call failed or timed out) and returns how many are ready, or the
 * errno (EINTR when a signal came first).
 */
export function ppoll(
  fds: PollFd[],
  timeoutNs: bigint | undefined,
): { ready: number; errno: number } {
  const buf = new Uint8Array(8 * fds.length);
  const view = new DataView(buf.buffer);
  fds.forEach((p, i) => {
    view.setInt32(i * 8, p.fd, true);
    view.setInt16(i * 8 + 4, p.events, true);
  });
  const ts = timeoutNs === undefined ? 0 : new Uint8Array(
    new BigInt64Array([timeoutNs / 1_000_000_000n, timeoutNs % 1_000_000_000n]).buffer,
  );
  const r = syscall("ppoll", buf, fds.length, ts, 0, 8);
  fds.forEach((p, i) => (p.revents = r.ret > 0n ? view.getInt16(i * 8 + 6, true) : 0));
  return r.ret < 0n ? { ready: 0, errno: r.errno } : { ready: Number(r.ret), errno: 0 };
}

/** A timeout in milliseconds as ppoll's nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

/** Waits up to `timeoutMs` for `events` on one fd; the revents (0 on timeout or a signal). */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  const p: PollFd[] = [{ fd, events }];
  ppoll(p, msToNs(timeoutMs));
  return p[0]!.revents!;
}
