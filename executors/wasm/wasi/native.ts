/**
 * What the WASI host does with raw system calls when it may (a rootful container's guest
 * thread has FFI; the rootless sandbox does not): nanosecond clocks and file times, readiness
 * polling of stdin and sockets, and the socket calls. Absent, the host falls back to Deno's
 * APIs (millisecond file times, stdin always ready, no sockets).
 */
import { cString, syscall } from "../../../lib/sys/libc.ts";

/** A stat with nanosecond times. */
export interface NativeStat {
  dev: bigint;
  ino: bigint;
  mode: number;
  nlink: bigint;
  size: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const ARM64 = Deno.build.arch === "aarch64";

/** Raw calls; every method returns a value or a Linux errno (as `{ errno }`). */
export class Native {
  /** clock_gettime(id) in nanoseconds. */
  clock(id: number): bigint | { errno: number } {
    const ts = new BigInt64Array(2);
    const r = syscall("clock_gettime", id, new Uint8Array(ts.buffer));
    if (r.ret < 0n) return { errno: r.errno };
    return ts[0]! * 1_000_000_000n + ts[1]!;
  }

  /** clock_getres(id) in nanoseconds. */
  clockRes(id: number): bigint | { errno: number } {
    const ts = new BigInt64Array(2);
    const r = syscall("clock_getres", id, new Uint8Array(ts.buffer));
    if (r.ret < 0n) return { errno: r.errno };
    return ts[0]! * 1_000_000_000n + ts[1]!;
  }

  #stat(dirfd: number, path: string, flags: number): NativeStat | { errno: number } {
    const buf = new Uint8Array(256);
    const r = syscall("newfstatat", dirfd, cString(path), buf, flags);
    if (r.ret < 0n) return { errno: r.errno };
    const v = new DataView(buf.buffer);
    const time = (off: number) =>
      v.getBigInt64(off, true) * 1_000_000_000n + v.getBigInt64(off + 8, true);
    return {
      dev: v.getBigUint64(0, true),
      ino: v.getBigUint64(8, true),
      mode: v.getUint32(ARM64 ? 16 : 24, true),
      nlink: ARM64 ? BigInt(v.getUint32(20, true)) : v.getBigUint64(16, true),
      size: v.getBigInt64(48, true),
      atim: time(72),
      mtim: time(88),
      ctim: time(104),
    };
  }

  /** stat or lstat of a path. */
  stat(path: string, follow: boolean): NativeStat | { errno: number } {
    return this.#stat(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW);
  }

  /** fstat of a host descriptor (stdio, sockets). */
  fstat(fd: number): NativeStat | { errno: number } {
    return this.#stat(fd, "", AT_EMPTY_PATH);
  }

  /** utimensat with nanosecond times; undefined leaves a time alone, "now" uses the clock. */
  utimens(
    path: string,
    follow: boolean,
    atim: bigint | "now" | undefined,
    mtim: bigint | "now" | undefined,
  ): number {
    const UTIME_NOW = (1n << 30n) - 1n;
    const UTIME_OMIT = (1n << 30n) - 2n;
    const spec = (t: bigint | "now" | undefined): [bigint, bigint] =>
      t === undefined
        ? [0n, UTIME_OMIT]
        : t === "now"
        ? [0n, UTIME_NOW]
        : [t / 1_000_000_000n, t % 1_000_000_000n];
    const times = new BigInt64Array([...spec(atim), ...spec(mtim)]);
    const r = syscall(
      "utimensat",
      AT_FDCWD,
      cString(path),
      new Uint8Array(times.buffer),
      follow ? 0 : AT_SYMLINK_NOFOLLOW,
    );
    return r.ret < 0n ? r.errno : 0;
  }

  /** ppoll of host descriptors for up to `timeoutNs` (undefined: wait forever); revents each. */
  poll(
    fds: { fd: number; events: number }[],
    timeoutNs: bigint | undefined,
  ): number[] | { errno: number } {
    const pfds = new Uint8Array(8 * fds.length);
    const v = new DataView(pfds.buffer);
    fds.forEach((f, i) => {
      v.setInt32(i * 8, f.fd, true);
      v.setInt16(i * 8 + 4, f.events, true);
    });
    const ts = timeoutNs === undefined ? 0 : new Uint8Array(
      new BigInt64Array([timeoutNs / 1_000_000_000n, timeoutNs % 1_000_000_000n]).buffer,
    );
    const r = syscall("ppoll", pfds, fds.length, ts, 0, 8);
    if (r.ret < 0n) return { errno: r.errno };
    return fds.map((_, i) => v.getInt16(i * 8 + 6, true));
  }

  /** accept4 on a listening socket; returns the new host descriptor. */
  accept(fd: number, nonblock: boolean): number | { errno: number } {
    const SOCK_CLOEXEC = 0o2000000;
    const SOCK_NONBLOCK = 0o4000;
    const r = syscall("accept4", fd, 0, 0, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
    return r.ret < 0n ? { errno: r.errno } : Number(r.ret);
  }

  /** recv into one buffer. */
  recv(fd: number, buf: Uint8Array, flags: number): number | { errno: number } {
    const r = syscall("recvfrom", fd, buf, buf.length, flags, 0, 0);
    return r.ret < 0n ? { errno: r.errno } : Number(r.ret);
  }

  /** send one buffer (MSG_NOSIGNAL: a closed peer is EPIPE, not a signal). */
  send(fd: number, buf: Uint8Array): number | { errno: number } {
    const MSG_NOSIGNAL = 0x4000;
    const r = syscall("sendto", fd, buf, buf.length, MSG_NOSIGNAL, 0, 0);
    return r.ret < 0n ? { errno: r.errno } : Number(r.ret);
  }

  /** shutdown(how: 0 rd, 1 wr, 2 both). */
  shutdown(fd: number, how: number): number {
    const r = syscall("shutdown", fd, how);
    return r.ret < 0n ? r.errno : 0;
  }

  /** read/write on a raw host descriptor (accepted sockets use these too). */
  read(fd: number, buf: Uint8Array): number | { errno: number } {
    const r = syscall("read", fd, buf, buf.length);
    return r.ret < 0n ? { errno: r.errno } : Number(r.ret);
  }

  /** close a raw host descriptor. */
  close(fd: number): void {
    syscall("close", fd);
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
