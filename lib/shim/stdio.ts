/**
 * A container process's stdio as containerd hands it to a shim: fifo paths (any may be ""),
 * `binary:///logger?k=v` (containerd's logging-binary protocol) or `file:///path` for the
 * output, and a terminal flag. The shim is one long-lived process, so every copy runs on the
 * shared poller of lib/sys/async_io.ts and nothing here blocks the event loop.
 *
 * What the container gets (non-terminal):
 * - stdout/stderr fifos: an O_RDWR fd on the fifo itself, no copy. Holding a reader of its own,
 *   the container never gets EPIPE when containerd's reader goes away (output waits in the fifo
 *   for the next reader); its exit closes the last writer and the reader sees end-of-file.
 * - stdin fifo: the read end of a pipe; the shim copies fifo -> pipe. Like containerd's runc
 *   shim it holds a write end of the fifo itself, so a client that detaches and attaches again
 *   does not end the container's input: stdin ends once CloseIO (closeStdin) dropped that write
 *   end and the client's writer is closed too.
 * - binary://: pipes to a logger started with fd 3 = stdout, 4 = stderr, 5 = ready pipe, env
 *   CONTAINER_ID and CONTAINER_NAMESPACE, the query's keys and first values as its arguments.
 * - file://: one O_APPEND fd on the file (parents made 0755, the file 0644) for both streams.
 * - "" : /dev/null.
 * With a terminal the shim copies stdin -> master and master -> stdout's target (fifo, file or
 * logger); stderr is unused, as with runc.
 */
import { causeOf, DenkiError, quote } from "../errors.ts";
import { Errno } from "../plan/errno.ts";
import { cancelWaits, closeFd, spawnWithFds, waitFd } from "../sys/async_io.ts";
import { POLLIN, POLLOUT, setNonblocking, setWindowSize } from "../sys/pty.ts";
import * as sc from "../sys/syscalls.ts";

/** What containerd sends for one process (the init of a task or an exec). */
export interface StdioRequest {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  id: string;
  namespace: string;
}

/** The stdio of one process, from before its spawn until it is deleted. */
export interface ProcessStdio {
  /**
   * The fds the container process gets as 0,1,2 (non-terminal only; for a terminal undefined).
   * They are close-on-exec in the shim: the spawn makes them inheritable (dup2 onto 0,1,2).
   * The caller passes them to the init/exec and then calls `handedOver()`.
   */
  readonly fds: readonly [number, number, number] | undefined;
  /** The pid of the logging binary started for a binary:// output (the shim reaps it). */
  readonly loggerPid: number | undefined;
  /** Closes the shim's copies of the fds it gave the process (call after the process was spawned). */
  handedOver(): void;
  /** Terminal: start copying stdin fifo -> master and master -> stdout. Takes over `master`. */
  attachConsole(master: number): void;
  /** ResizePty: sets the window size on the master (no-op without a terminal). */
  resize(width: number, height: number): void;
  /**
   * Opens the stdin fifo and starts copying it to the process. Call as the process starts
   * (Start): ctr asks for CloseIO when its own stdin ends, but only once Create has returned,
   * and its writer reaches that end as soon as a reader opens the fifo.
   */
  connectStdin(): void;
  /** CloseIO: the process's stdin gets end-of-file once the client's writer is closed too. */
  closeStdin(): void;
  /**
   * Resolves when all output has been copied out (the terminal copy reached the master's EIO,
   * at most `drainMs` after this call); call after the process exited, before reporting the exit.
   */
  drained(): Promise<void>;
  /** Releases every fd and copy loop; a logger is left to end at its end-of-file. Idempotent. */
  close(): void;
}

/** Bounds on waits; the defaults suit containerd, tests shorten them. */
export interface StdioOptions {
  /** How long a logging binary may take to signal ready on fd 5 (default 10 s). */
  loggerReadyMs?: number;
  /** How long drained() waits for the terminal's output (default 2 s). */
  drainMs?: number;
}

const LOGGER_READY_MS = 10_000;
const DRAIN_MS = 2_000;

const O_APPEND = 0o2000;
const SIGKILL = 9;
const BUFFER_SIZE = 32768;

const loggers = new Set<number>();

/** Pids of the logging binaries started and not yet reported reaped. */
export function loggerPids(): ReadonlySet<number> {
  return loggers;
}

/** The reaper's report that `pid` exited: true when it was a logger (then forgotten). */
export function loggerReaped(pid: number): boolean {
  return loggers.delete(pid);
}

type Output =
  | { kind: "null" }
  | { kind: "path"; path: string }
  | { kind: "file"; path: string }
  | { kind: "binary"; uri: string; path: string; args: string[] };

/** Reads one of stdout/stderr: a plain path, "", or a binary:// or file:// URI. */
export function parseOutput(value: string, which: string): Output {
  if (value === "") return { kind: "null" };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: "path", path: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DenkiError(`${which} ${quote(value)}: not a valid URI`);
  }
  if (scheme !== "file" && scheme !== "binary") {
    throw new DenkiError(`${which} ${quote(value)}: unknown stdio scheme "${scheme}"`);
  }
  const path = decodeURIComponent(url.pathname);
  if (!path.startsWith("/")) throw new DenkiError(`${which} ${quote(value)}: path is not absolute`);
  if (scheme === "file") return { kind: "file", path };
  // containerd passes each key and its first value (even empty) as arguments.
  const args: string[] = [];
  const seen = new Set<string>();
  for (const [k, v] of url.searchParams) {
    if (seen.has(k)) continue;
    seen.add(k);
    args.push(k, v);
  }
  return { kind: "binary", uri: value, path, args };
}

/** Runs `fn`, turning its failure into one line naming the stream and its path or URI. */
function naming<T>(which: string, value: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DenkiError && e.message.startsWith(which)) throw e;
    throw new DenkiError(`${which} ${quote(value, 200)}: ${causeOf(e)}`);
  }
}

const openNull = (flags: number) => sc.open("/dev/null", flags | sc.O_CLOEXEC);

/** An output fd for the container on a path: the fifo O_RDWR, anything else appended to. */
function openOutputPath(path: string): number {
  if (sc.fileType(sc.AT_FDCWD, path, 0) === sc.S_IFIFO) {
    return sc.open(path, sc.O_RDWR | sc.O_CLOEXEC);
  }
  return sc.open(path, sc.O_WRONLY | O_APPEND | sc.O_CLOEXEC);
}

/** Appends to `path` (file://), making it and its parent directories. */
function openLogFile(path: string): number {
  const parts = path.split("/").filter((p) => p !== "");
  let dir = "";
  for (const p of parts.slice(0, -1)) {
    dir += `/${p}`;
    sc.mkdirat(sc.AT_FDCWD, dir, 0o755, true);
  }
  return sc.open(path, sc.O_WRONLY | sc.O_CREAT | O_APPEND | sc.O_CLOEXEC, 0o644);
}

/** The shim's side of a stdin fifo: a non-blocking reader and the write end it holds. */
function openStdinFifo(path: string): { reader: number; keeper: number | undefined } {
  const reader = sc.open(path, sc.O_RDONLY | sc.O_NONBLOCK | sc.O_CLOEXEC);
  try {
    // With our reader open this cannot block or fail with ENXIO.
    const isFifo = sc.fileType(reader, "", sc.AT_EMPTY_PATH) === sc.S_IFIFO;
    const keeper = isFifo ? sc.open(path, sc.O_WRONLY | sc.O_NONBLOCK | sc.O_CLOEXEC) : undefined;
    return { reader, keeper };
  } catch (e) {
    sc.close(reader);
    throw e;
  }
}

/** Starts a logging binary; returns its pid and the write ends for stdout and stderr. */
async function startLogger(
  out: Extract<Output, { kind: "binary" }>,
  req: StdioRequest,
  own: (fd: number) => number,
  drop: (fd: number) => void,
  readyMs: number,
): Promise<{ pid: number; outW: number; errW: number }> {
  const [outR, outW] = sc.pipe("logger stdout").map(own) as [number, number];
  const [errR, errW] = sc.pipe("logger stderr").map(own) as [number, number];
  const [readyR, readyW] = sc.pipe("logger ready").map(own) as [number, number];
  const devnull = own(openNull(sc.O_RDWR));
  const env = [`CONTAINER_ID=${req.id}`, `CONTAINER_NAMESPACE=${req.namespace}`];
  const map = [[0, devnull], [1, devnull], [2, devnull], [3, outR], [4, errR], [
    5,
    readyW,
  ]] as const;
  const pid = spawnWithFds(out.path, [out.path, ...out.args], env, map, 6);
  loggers.add(pid);
  for (const fd of [outR, errR, readyW, devnull]) drop(fd);
  setNonblocking(readyR);
  // Ready is a byte or end-of-file on fd 5 (the logger closing it or exiting), as containerd
  // accepts; only silence is a failure.
  const revents = await waitFd(readyR, POLLIN, readyMs);
  drop(readyR);
  if (revents === 0) {
    sc.kill(pid, SIGKILL); // left for the reaper, still in loggerPids()
    throw new DenkiError(`logging binary not ready after ${readyMs} ms`);
  }
  return { pid, outW, errW };
}

/** Copies `from` to `to` (undefined: discard) until end-of-file, an error, or `stopped()`. */
async function pump(from: number, to: number | undefined, stopped: () => boolean): Promise<void> {
  const buf = new Uint8Array(BUFFER_SIZE);
  for (;;) {
    const r = sc.tryRead(from, buf);
    if (r.errno === Errno.EAGAIN) {
      await waitFd(from, POLLIN);
      if (stopped()) return;
      continue;
    }
    if (r.errno === Errno.EINTR) continue;
    if (r.n <= 0) return; // end-of-file, or EIO from a master whose peer is gone
    for (let off = 0; to !== undefined && off < r.n;) {
      const w = sc.writeSome(to, buf.subarray(off, r.n));
      if (w.errno === Errno.EAGAIN) {
        await waitFd(to, POLLOUT);
        if (stopped()) return;
      } else if (w.errno === Errno.EINTR) continue;
      else if (w.errno !== 0) return; // EPIPE: the reader (the container's stdin) is gone
      else off += w.n;
    }
  }
}

/**
 * Opens what containerd asked for. On failure no fd stays open; a logger already started gets
 * end-of-file (or SIGKILL when it never became ready) and stays in loggerPids() for the reaper.
 */
export async function openStdio(
  req: StdioRequest,
  options: StdioOptions = {},
): Promise<ProcessStdio> {
  const owned = new Set<number>();
  const own = (fd: number) => (owned.add(fd), fd);
  const drop = (fd: number) => {
    if (owned.delete(fd)) closeFd(fd);
  };
  try {
    return await build(req, { loggerReadyMs: LOGGER_READY_MS, drainMs: DRAIN_MS, ...options }, {
      owned,
      own,
      drop,
    });
  } catch (e) {
    for (const fd of owned) closeFd(fd);
    throw e;
  }
}

async function build(
  req: StdioRequest,
  opts: Required<StdioOptions>,
  { owned, own, drop }: {
    owned: Set<number>;
    own: (fd: number) => number;
    drop: (fd: number) => void;
  },
): Promise<ProcessStdio> {
  const out = naming("stdout", req.stdout, () => parseOutput(req.stdout, "stdout"));
  // A URI on stdout takes stderr too (containerd reads the scheme from stdout only).
  const uriOut = out.kind === "binary" || out.kind === "file";
  const err: Output = uriOut
    ? { kind: "null" }
    : naming("stderr", req.stderr, () => parseOutput(req.stderr, "stderr"));
  if (err.kind !== "null" && err.kind !== "path") {
    throw new DenkiError(`stderr ${quote(req.stderr, 200)}: a URI needs the same on stdout`);
  }
  // Opened by connectStdin(); a path that is not there fails now.
  const stdin = req.stdin === "" ? undefined : req.stdin;
  if (stdin !== undefined) {
    naming("stdin", stdin, () => sc.close(sc.open(stdin, sc.O_PATH | sc.O_CLOEXEC)));
  }
  let loggerPid: number | undefined;
  let logger: { pid: number; outW: number; errW: number } | undefined;
  if (out.kind === "binary") {
    try {
      logger = await startLogger(out, req, own, drop, opts.loggerReadyMs);
    } catch (e) {
      throw new DenkiError(`stdout ${quote(out.uri, 200)}: ${causeOf(e)}`);
    }
    loggerPid = logger.pid;
  }
  if (req.terminal) {
    // Only the shim writes console output: to the logger's stdout, the file or the fifo.
    let sink: number | undefined;
    if (logger !== undefined) {
      sink = logger.outW;
      drop(logger.errW); // the logger's stderr ends at once
    } else if (out.kind === "file") {
      sink = own(naming("stdout", req.stdout, () => openLogFile(out.path)));
    } else if (out.kind === "path") {
      sink = own(naming("stdout", out.path, () => openOutputPath(out.path)));
    }
    if (sink !== undefined) setNonblocking(sink);
    return new Stdio(undefined, owned, stdin, sink, [], loggerPid, opts.drainMs);
  }
  let fd0: number;
  let stdinDest: number | undefined;
  if (stdin === undefined) fd0 = own(openNull(sc.O_RDONLY));
  else {
    [fd0, stdinDest] = sc.pipe("stdin pipe").map(own) as [number, number];
    setNonblocking(stdinDest);
  }
  let fd1: number;
  let fd2: number;
  if (logger !== undefined) [fd1, fd2] = [logger.outW, logger.errW];
  else if (out.kind === "file") {
    fd1 = fd2 = own(naming("stdout", req.stdout, () => openLogFile(out.path)));
  } else {
    const open = (o: Output, which: string) =>
      o.kind === "path"
        ? own(naming(which, o.path, () => openOutputPath(o.path)))
        : own(openNull(sc.O_WRONLY));
    fd1 = open(out, "stdout");
    fd2 = err.kind === "path" && out.kind === "path" && err.path === out.path
      ? fd1
      : open(err, "stderr");
  }
  const given = [fd0, fd1, fd2] as const;
  return new Stdio(given, owned, stdin, stdinDest, [...new Set(given)], loggerPid, opts.drainMs);
}

class Stdio implements ProcessStdio {
  #closed = false;
  #master: number | undefined;
  /** The stdin fifo's ends, once connectStdin() opened them. */
  #stdin: { reader: number; keeper: number | undefined } | undefined;
  #stdinClosed = false;
  #stdinPump: Promise<void> | undefined;
  #outputDone: Promise<void> | undefined;

  constructor(
    readonly fds: readonly [number, number, number] | undefined,
    readonly owned: Set<number>,
    /** The stdin fifo's path ("" or undefined: none). */
    readonly stdin: string | undefined,
    /** Non-terminal: the stdin pipe's write end; terminal: where console output goes. */
    readonly dest: number | undefined,
    readonly toHandOver: number[],
    readonly loggerPid: number | undefined,
    readonly drainMs: number,
  ) {}

  connectStdin(): void {
    if (this.#closed || this.stdin === undefined || this.#stdin !== undefined) return;
    const path = this.stdin;
    const ends = naming("stdin", path, () => openStdinFifo(path));
    this.owned.add(ends.reader);
    if (ends.keeper !== undefined) this.owned.add(ends.keeper);
    this.#stdin = ends;
    if (this.#stdinClosed) this.#release(ends.keeper);
    if (this.fds !== undefined) this.#copyStdin(this.dest);
    else if (this.#master !== undefined) this.#copyStdin(this.#master);
  }

  #release(fd: number | undefined): void {
    if (fd === undefined || !this.owned.delete(fd)) return;
    closeFd(fd);
  }

  #copyStdin(to: number | undefined): void {
    const s = this.#stdin!;
    this.#stdinPump = pump(s.reader, to, () => this.#closed).finally(() => {
      if (this.#closed) return;
      this.#release(s.reader);
      this.#release(s.keeper);
      // Non-terminal: the container's stdin ends here. Terminal: the master stays.
      if (this.fds !== undefined) this.#release(to);
    });
  }

  handedOver(): void {
    for (const fd of this.toHandOver.splice(0)) this.#release(fd);
  }

  attachConsole(master: number): void {
    if (this.#closed || this.fds !== undefined || this.#master !== undefined) {
      sc.close(master);
      if (this.#closed) return;
      throw new DenkiError(`attach console fd ${master}: ${this.fds ? "no terminal" : "twice"}`);
    }
    this.#master = master;
    this.owned.add(master);
    setNonblocking(master);
    if (this.#stdin !== undefined) this.#copyStdin(master);
    const sink = this.dest;
    this.#outputDone = pump(master, sink, () => this.#closed).finally(() => {
      if (!this.#closed) this.#release(sink); // the reader sees end-of-file
    });
  }

  resize(width: number, height: number): void {
    if (this.#closed || this.#master === undefined) return;
    try {
      setWindowSize(this.#master, { rows: height, cols: width });
    } catch (e) {
      throw new DenkiError(`resize console to ${width}x${height}: ${causeOf(e)}`);
    }
  }

  closeStdin(): void {
    if (this.#closed || this.stdin === undefined) return;
    this.#stdinClosed = true;
    this.#release(this.#stdin?.keeper);
  }

  async drained(): Promise<void> {
    if (this.#outputDone === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((r) => (timer = setTimeout(r, this.drainMs)));
    try {
      await Promise.race([this.#outputDone, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.owned) cancelWaits(fd);
    for (const fd of this.owned) closeFd(fd);
    this.owned.clear();
    this.toHandOver.length = 0;
  }
}
