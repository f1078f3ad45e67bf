/**
 * Waiting for raw fds without blocking the event loop, for the long-lived shim: Deno cannot wrap
 * a raw fd (a pty master, a fifo) into one of its streams, so one poll(2) declared `nonblocking`
 * runs on Deno's blocking thread pool and watches every fd anyone waits for (one pool thread for
 * the whole process, however many containers). Callers keep their fds O_NONBLOCK, wait here for
 * readiness, then read/write with the plain sync calls. Also posix_spawn with an fd map and
 * default signal handling, for helpers the shim starts (logging binaries).
 *
 * Opened lazily on first use, and only the shim imports it: the CLI never pays for these symbols.
 */
import { SyscallError } from "../errors.ts";
import { O_CLOEXEC, O_NONBLOCK, POLLERR, POLLHUP, POLLNVAL } from "../plan/abi.ts";
import { close, tryCall } from "./call.ts";
import { cString } from "./libc.ts";
import { cArray } from "./process.ts";

type Lib = ReturnType<typeof load>;
let lib: Lib | undefined;

function load() {
  return Deno.dlopen("libc.so.6", {
    poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
    posix_spawn: {
      parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
      result: "i32",
    },
    posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
    posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
    posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
    posix_spawn_file_actions_addclosefrom_np: { parameters: ["buffer", "i32"], result: "i32" },
    posix_spawn_file_actions_addchdir_np: { parameters: ["buffer", "buffer"], result: "i32" },
    posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
    posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
    posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
    posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
    posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  }).symbols;
}

function libc(): Lib {
  return (lib ??= load());
}

interface Waiter {
  fd: number;
  events: number;
  resolve(revents: number): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const waiters = new Set<Waiter>();
let running = false;
/** The fds of the poll call in flight (undefined when none is). */
let polling: Set<number> | undefined;
let wake: [number, number] | undefined;
let woken = false;
/** fds closed while the poll in flight still watched them: closed once it returns. */
const closeLater = new Set<number>();
let idle: Promise<void> = Promise.resolve();

const ALWAYS = POLLERR | POLLHUP | POLLNVAL;

/**
 * Resolves with the fd's revents once one of `events` (or an error or hang-up) is ready, or with
 * 0 after `timeoutMs` or when cancelWaits(fd) is called.
 */
export function waitFd(fd: number, events: number, timeoutMs?: number): Promise<number> {
  return new Promise((resolve) => {
    const w: Waiter = { fd, events, resolve, timer: undefined };
    if (timeoutMs !== undefined) w.timer = setTimeout(() => finish(w, 0), timeoutMs);
    waiters.add(w);
    kick();
  });
}

/** Ends every wait on `fd` (they resolve with 0). */
export function cancelWaits(fd: number): void {
  for (const w of waiters) if (w.fd === fd) finish(w, 0);
}

/**
 * Cancels the waits on `fd` and closes it; while the poll in flight still watches it, the close
 * waits until that poll returns (the kernel would keep the file alive anyway, and the fd number
 * must not be reused under a poll that still names it).
 */
export function closeFd(fd: number): void {
  cancelWaits(fd);
  if (polling?.has(fd)) closeLater.add(fd);
  else close(fd);
}

/** Resolves when no poll call is in flight (all waits ended); for tests and shutdown. */
export function pollIdle(): Promise<void> {
  return idle;
}

function finish(w: Waiter, revents: number): void {
  if (!waiters.delete(w)) return;
  if (w.timer !== undefined) clearTimeout(w.timer);
  w.resolve(revents);
  kick();
}

/** Starts the poll loop, or makes the poll in flight return so it picks up the new set. */
function kick(): void {
  if (running) {
    if (polling !== undefined && !woken && wake !== undefined) {
      woken = true;
      tryCall("write", wake[1], new Uint8Array(1), 1);
    }
  } else if (waiters.size > 0) {
    running = true;
    idle = loop();
  }
}

async function loop(): Promise<void> {
  const fds = new Int32Array(2);
  const made = tryCall("pipe2", new Uint8Array(fds.buffer), O_CLOEXEC | O_NONBLOCK);
  if (made.errno !== 0) {
    // Nothing can be watched: every waiter hears an error rather than hanging.
    for (const w of [...waiters]) finish(w, POLLERR);
    running = false;
    return;
  }
  wake = [fds[0]!, fds[1]!];
  const drain = new Uint8Array(64);
  try {
    while (waiters.size > 0) {
      const interest = new Map<number, number>();
      for (const w of waiters) interest.set(w.fd, (interest.get(w.fd) ?? 0) | w.events);
      const n = interest.size + 1;
      const buf = new Uint8Array(8 * n);
      const view = new DataView(buf.buffer);
      const order = [wake[0], ...interest.keys()];
      order.forEach((fd, i) => {
        view.setInt32(i * 8, fd, true);
        view.setInt16(i * 8 + 4, i === 0 ? 1 : interest.get(fd)!, true);
      });
      polling = new Set(order.slice(1));
      const ready = await libc().poll(buf, BigInt(n), -1);
      polling = undefined;
      woken = false;
      while (tryCall("read", wake[0], drain, drain.length).n > 0);
      for (const fd of closeLater) close(fd);
      closeLater.clear();
      if (ready < 0) {
        // EINTR in practice (the pool thread's errno is out of reach); a pause keeps a
        // persistent failure (ENOMEM) from spinning.
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const revents = new Map<number, number>();
      order.forEach((fd, i) => revents.set(fd, view.getInt16(i * 8 + 6, true)));
      for (const w of [...waiters]) {
        const r = revents.get(w.fd) ?? 0;
        if (r & (w.events | ALWAYS)) finish(w, r);
      }
    }
  } finally {
    polling = undefined;
    running = false;
    close(wake[0]);
    close(wake[1]);
    wake = undefined;
  }
}

const F_DUPFD_CLOEXEC = 1030;
/** posix_spawnattr flags (spawn.h). */
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const SIGPIPE = 13;
/** Generous sizes for glibc's opaque posix_spawn structs (80 and 336 bytes on 64-bit). */
const FILE_ACTIONS_SIZE = 256;
const SPAWNATTR_SIZE = 512;

/**
 * Starts `path` with `argv` and `envp`; in the child each `[target, source]` of `fdMap` becomes
 * fd `target` (inheritable), every other fd from `closeFrom` (or above the highest target) up
 * is closed, the signal mask is
 * empty and SIGPIPE is back to its default (Deno ignores it, and an ignored signal survives
 * exec). The sources may be close-on-exec. With `setsid` the child starts a session of its
 * own (nothing aimed at this process's group reaches it); with `cwd` it starts there. Returns
 * the pid; the caller reaps it.
 */
export function spawnWithFds(
  path: string,
  argv: readonly string[],
  envp: readonly string[],
  fdMap: readonly (readonly [target: number, source: number])[],
  closeFrom: number,
  opts: { setsid?: boolean; cwd?: string } = {},
): number {
  const l = libc();
  // A source at a number some target takes would be overwritten before it is copied: copy
  // such sources above every target first.
  const high = Math.max(closeFrom, ...fdMap.map(([t]) => t + 1));
  const moved: number[] = [];
  try {
    const map = fdMap.map(([target, source]): [number, number] => {
      if (source >= high) return [target, source];
      const r = tryCall("fcntl", source, F_DUPFD_CLOEXEC, high);
      if (r.errno !== 0) throw new SyscallError("fcntl", `F_DUPFD fd ${source}`, r.errno);
      moved.push(r.n);
      return [target, r.n];
    });
    const actions = new Uint8Array(FILE_ACTIONS_SIZE);
    const attr = new Uint8Array(SPAWNATTR_SIZE);
    l.posix_spawn_file_actions_init(actions);
    l.posix_spawnattr_init(attr);
    try {
      for (const [target, source] of map) {
        const e = l.posix_spawn_file_actions_adddup2(actions, source, target);
        if (e !== 0) throw new SyscallError("posix_spawn_file_actions_adddup2", path, e);
      }
      const e = l.posix_spawn_file_actions_addclosefrom_np(actions, high);
      if (e !== 0) throw new SyscallError("posix_spawn_file_actions_addclosefrom_np", path, e);
      if (opts.cwd !== undefined) {
        const c = l.posix_spawn_file_actions_addchdir_np(actions, cString(opts.cwd));
        if (c !== 0) throw new SyscallError("posix_spawn_file_actions_addchdir_np", path, c);
      }
      const sigset = new BigUint64Array(16); // sigset_t: 1024 bits
      l.posix_spawnattr_setsigmask(attr, new Uint8Array(sigset.buffer));
      sigset[0] = 1n << BigInt(SIGPIPE - 1);
      l.posix_spawnattr_setsigdefault(attr, new Uint8Array(sigset.buffer));
      l.posix_spawnattr_setflags(
        attr,
        POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (opts.setsid ? POSIX_SPAWN_SETSID : 0),
      );
      const a = cArray(argv);
      const env = cArray(envp);
      const pid = new Int32Array(1);
      const err = l.posix_spawn(
        new Uint8Array(pid.buffer),
        cString(path),
        actions,
        attr,
        a.ptrs,
        env.ptrs,
      );
      void a.keep;
      void env.keep;
      if (err !== 0) throw new SyscallError("posix_spawn", path, err);
      return pid[0]!;
    } finally {
      l.posix_spawn_file_actions_destroy(actions);
      l.posix_spawnattr_destroy(attr);
    }
  } finally {
    for (const fd of moved) close(fd);
  }
}
