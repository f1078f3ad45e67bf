/**
 * What the WASI host does with raw system calls when it may (a rootful container's guest
 * thread has FFI; the rootless sandbox does not): nanosecond clocks and file times, readiness
 * polling of stdin and sockets, and the socket calls. Absent, the host falls back to Deno's
 * APIs (millisecond file times, stdin always ready, no sockets).
 */
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW } from "../../../lib/plan/abi.ts";
import { close } from "../../../lib/sys/call.ts";
import { tryRead } from "../../../lib/sys/file.ts";
import * as net from "../../../lib/sys/net.ts";
import { ppoll } from "../../../lib/sys/poll.ts";
import { fstatat, type Stat, utimens } from "../../../lib/sys/stat.ts";
import { clockNs, clockResNs } from "../../../lib/sys/clock.ts";

/** A stat with nanosecond times. */
export type NativeStat = Stat;

/** A count, or the errno of a failed call. */
const result = (r: { n: number; errno: number }) => r.errno === 0 ? r.n : { errno: r.errno };

/** Raw calls; every method returns a value or a Linux errno (as `{ errno }`). */
export class Native {
  /** clock_gettime(id) in nanoseconds. */
  clock(id: number): bigint | { errno: number } {
    return clockNs(id);
  }

  /** clock_getres(id) in nanoseconds. */
  clockRes(id: number): bigint | { errno: number } {
    return clockResNs(id);
  }

  /** stat or lstat of a path. */
  stat(path: string, follow: boolean): NativeStat | { errno: number } {
    return fstatat(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW);
  }

  /** fstat of a host descriptor (stdio, sockets). */
  fstat(fd: number): NativeStat | { errno: number } {
    return fstatat(fd, "", AT_EMPTY_PATH);
  }

  /** utimensat with nanosecond times; undefined leaves a time alone, "now" uses the clock. */
  utimens(
    path: string,
    follow: boolean,
    atim: bigint | "now" | undefined,
    mtim: bigint | "now" | undefined,
  ): number {
    return utimens(path, follow, atim, mtim);
  }

  /** ppoll of host descriptors for up to `timeoutNs` (undefined: wait forever); revents each. */
  poll(
    fds: { fd: number; events: number }[],
    timeoutNs: bigint | undefined,
  ): number[] | { errno: number } {
    const watch = fds.map((f) => ({ fd: f.fd, events: f.events, revents: 0 }));
    const r = ppoll(watch, timeoutNs);
    return r.errno !== 0 ? { errno: r.errno } : watch.map((w) => w.revents);
  }

  /** accept4 on a listening socket; returns the new host descriptor. */
  accept(fd: number, nonblock: boolean): number | { errno: number } {
    return result(net.accept(fd, nonblock));
  }

  /** recv into one buffer. */
  recv(fd: number, buf: Uint8Array, flags: number): number | { errno: number } {
    return result(net.recv(fd, buf, flags));
  }

  /** send one buffer (MSG_NOSIGNAL: a closed peer is EPIPE, not a signal). */
  send(fd: number, buf: Uint8Array): number | { errno: number } {
    return result(net.send(fd, buf));
  }

  /** shutdown(how: 0 rd, 1 wr, 2 both). */
  shutdown(fd: number, how: number): number {
    return net.shutdown(fd, how);
  }

  /** read/write on a raw host descriptor (accepted sockets use these too). */
  read(fd: number, buf: Uint8Array): number | { errno: number } {
    return result(tryRead(fd, buf));
  }

  /** close a raw host descriptor. */
  close(fd: number): void {
    close(fd);
  }
}

/** A Native when FFI is allowed in this thread, else undefined. */
export function tryNative(): Native | undefined {
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    const n = new Native();
    // Opens libc now, so a refusal shows here rather than in the middle of a call.
    n.clock(1);
    return n;
  } catch {
    return undefined;
  }
}
