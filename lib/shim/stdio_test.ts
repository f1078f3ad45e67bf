import assert from "node:assert/strict";
import { DenkiError } from "../errors.ts";
import { pollIdle, spawnWithFds, waitFd } from "../sys/async_io.ts";
import {
  getTermios,
  getWindowSize,
  makeRaw,
  openPeer,
  openPtmx,
  POLLIN,
  setNonblocking,
  setTermios,
  unlockPty,
} from "../sys/pty.ts";
import { pidfdOpen, reap } from "../sys/process.ts";
import * as sc from "../sys/syscalls.ts";
import { loggerPids, loggerReaped, openStdio, parseOutput, type StdioRequest } from "./stdio.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const fdCount = () => sc.listDir("/proc/self/fd").length;
const F_GETFD = 1;
const isCloexec = (fd: number) => (sc.attempt("fcntl", fd, F_GETFD, 0).ret & 1n) === 1n;

function mkfifo(path: string): string {
  sc.mknodat(sc.AT_FDCWD, path, sc.S_IFIFO | 0o600, 0n);
  return path;
}

/** ctr's side of an output fifo: a non-blocking reader. */
const openReader = (path: string) => sc.open(path, sc.O_RDONLY | sc.O_NONBLOCK | sc.O_CLOEXEC);
/** ctr's side of the stdin fifo (the shim's reader is already open). */
const openWriter = (path: string) => sc.open(path, sc.O_WRONLY | sc.O_NONBLOCK | sc.O_CLOEXEC);

/** Reads a non-blocking fd until end-of-file (or `until` matched), within `timeoutMs`. */
async function readFd(fd: number, until?: string, timeoutMs = 5000): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (until !== undefined && text.includes(until)) return text;
    const r = sc.tryRead(fd, buf);
    if (r.errno === sc.Errno.EAGAIN) {
      if ((await waitFd(fd, POLLIN, Math.max(1, end - Date.now()))) === 0) {
        throw new Error(`timed out reading fd ${fd}; got ${JSON.stringify(text)}`);
      }
      continue;
    }
    if (r.n <= 0) return text;
    text += dec.decode(buf.subarray(0, r.n));
  }
}

/** A stand-in container process: sh -c `cmd` with the shim's fds as 0, 1, 2. */
function spawnContainer(cmd: string, fds: readonly [number, number, number]): number {
  return spawnWithFds("/bin/sh", ["sh", "-c", cmd], ["PATH=/usr/bin:/bin"], [
    [0, fds[0]],
    [1, fds[1]],
    [2, fds[2]],
  ], 3);
}

const req = (p: Partial<StdioRequest>): StdioRequest => ({
  stdin: "",
  stdout: "",
  stderr: "",
  terminal: false,
  id: "c1",
  namespace: "ns1",
  ...p,
});

/** Runs `fn` in a temp dir and checks that no fd and no poll outlived it. */
function withDir(name: string, fn: (dir: string) => Promise<void>): void {
  Deno.test(`stdio: ${name}`, async () => {
    const dir = Deno.makeTempDirSync({ prefix: "denki-stdio-" });
    const before = fdCount();
    try {
      await fn(dir);
      await pollIdle();
      assert.equal(fdCount(), before, "fds leaked");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
}

Deno.test("stdio: parseOutput reads paths, file:// and binary:// as containerd does", () => {
  assert.deepEqual(parseOutput("", "stdout"), { kind: "null" });
  assert.deepEqual(parseOutput("/run/f/c-stdout", "stdout"), {
    kind: "path",
    path: "/run/f/c-stdout",
  });
  assert.deepEqual(parseOutput("file:///var/log/a%20b.log", "stdout"), {
    kind: "file",
    path: "/var/log/a b.log",
  });
  assert.deepEqual(parseOutput("binary:///usr/bin/lg?id=7&flag&id=8&x=a+b", "stdout"), {
    kind: "binary",
    uri: "binary:///usr/bin/lg?id=7&flag&id=8&x=a+b",
    path: "/usr/bin/lg",
    args: ["id", "7", "flag", "", "x", "a b"],
  });
  assert.throws(
    () => parseOutput("tcp://h:1", "stdout"),
    /stdout "tcp:\/\/h:1": unknown stdio scheme "tcp"/,
  );
  assert.throws(() => parseOutput("binary://lg", "stdout"), /path is not absolute/);
});

withDir("fifos: bytes reach stdout and stderr, stdin ends only after CloseIO", async (dir) => {
  const [fin, fout, ferr] = ["in", "out", "err"].map((n) => mkfifo(`${dir}/${n}`));
  const outR = openReader(fout!);
  const errR = openReader(ferr!);
  const s = await openStdio(req({ stdin: fin!, stdout: fout!, stderr: ferr! }));
  s.connectStdin();
  for (const fd of s.fds!) assert.ok(isCloexec(fd), `fd ${fd} is close-on-exec in the shim`);
  const w = openWriter(fin!);
  const pid = spawnContainer("cat; echo bye; echo oops >&2", s.fds!);
  s.handedOver();
  const pidfd = pidfdOpen(pid);
  sc.writeAll(w, enc.encode("hello\n"));
  assert.equal(await readFd(outR, "hello\n"), "hello\n");
  sc.close(w); // the client's writer is gone, but the shim still holds one: no end-of-file yet
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(reap(pidfd), undefined, "cat ended before CloseIO");
  s.closeStdin();
  const [out, err] = await Promise.all([readFd(outR), readFd(errR)]);
  assert.equal(out, "bye\n");
  assert.equal(err, "oops\n");
  assert.deepEqual(await sc.waitChild(pid), { code: 0, signal: null });
  sc.close(pidfd);
  await s.drained();
  s.close();
  s.close();
  sc.close(outR);
  sc.close(errR);
});

withDir("CloseIO before the client opened stdin ends it at once; '' is /dev/null", async (dir) => {
  const fin = mkfifo(`${dir}/in`);
  const fout = mkfifo(`${dir}/out`);
  const outR = openReader(fout);
  const s = await openStdio(req({ stdin: fin, stdout: fout }));
  s.closeStdin();
  const pid = spawnContainer("cat; echo done; echo hidden >&2", s.fds!);
  s.handedOver();
  s.connectStdin();
  assert.equal(await readFd(outR), "done\n");
  assert.deepEqual(await sc.waitChild(pid), { code: 0, signal: null });
  s.close();
  sc.close(outR);
  const n = await openStdio(req({}));
  const pid2 = spawnContainer("cat && echo x", n.fds!);
  n.handedOver();
  assert.deepEqual(await sc.waitChild(pid2), { code: 0, signal: null });
  n.close();
});

withDir(
  "stdout == stderr share one fd; a reader that leaves and returns loses nothing",
  async (dir) => {
    const f = mkfifo(`${dir}/out`);
    const r1 = openReader(f);
    const s = await openStdio(req({ stdout: f, stderr: f }));
    assert.equal(s.fds![1], s.fds![2]);
    sc.close(r1); // containerd's reader goes away
    const pid = spawnContainer("echo one; echo two >&2", s.fds!);
    // No EPIPE and no SIGPIPE: the writes land in the fifo while nobody reads.
    assert.deepEqual(await sc.waitChild(pid), { code: 0, signal: null });
    const r2 = openReader(f); // and comes back
    s.handedOver();
    assert.equal(await readFd(r2), "one\ntwo\n");
    s.close();
    sc.close(r2);
  },
);

withDir("file:// makes the parents and appends both streams", async (dir) => {
  const path = `${dir}/a/b/c.log`;
  for (const word of ["first", "second"]) {
    const s = await openStdio(req({ stdout: `file://${path}`, stderr: "ignored" }));
    const pid = spawnContainer(`echo ${word}; echo ${word}-err >&2`, s.fds!);
    s.handedOver();
    assert.deepEqual(await sc.waitChild(pid), { code: 0, signal: null });
    await s.drained();
    s.close();
  }
  assert.equal(Deno.readTextFileSync(path), "first\nfirst-err\nsecond\nsecond-err\n");
});

withDir("binary:// starts the logger with fds 3, 4, 5, env and args", async (dir) => {
  const logger = `${dir}/logger.sh`;
  Deno.writeTextFileSync(
    logger,
    [
      "#!/bin/sh",
      // args: out PATH err PATH
      'env | grep -Ev "^(PWD|SHLVL|_)=" | sort > "$2.env"',
      'echo "$*" > "$2.args"',
      'cat <&3 > "$2" 5>&- &',
      'cat <&4 > "$4" 5>&- &',
      "exec 5>&-",
      "wait",
    ].join("\n"),
    { mode: 0o755 },
  );
  const uri = `binary://${logger}?out=${dir}/o.log&err=${dir}/e.log`;
  const s = await openStdio(req({ stdout: uri, stderr: uri }));
  assert.ok(s.loggerPid !== undefined && loggerPids().has(s.loggerPid));
  const pid = spawnContainer("echo to-out; echo to-err >&2", s.fds!);
  s.handedOver();
  assert.deepEqual(await sc.waitChild(pid), { code: 0, signal: null });
  await s.drained();
  s.close();
  // The logger ends at its end-of-file, on its own.
  assert.deepEqual(await sc.waitChild(s.loggerPid!), { code: 0, signal: null });
  assert.ok(loggerReaped(s.loggerPid!));
  assert.ok(!loggerPids().has(s.loggerPid!));
  assert.equal(Deno.readTextFileSync(`${dir}/o.log`), "to-out\n");
  assert.equal(Deno.readTextFileSync(`${dir}/e.log`), "to-err\n");
  // The environment is exactly the two variables (sh itself adds PWD and friends).
  assert.equal(
    Deno.readTextFileSync(`${dir}/o.log.env`),
    "CONTAINER_ID=c1\nCONTAINER_NAMESPACE=ns1\n",
  );
  assert.equal(Deno.readTextFileSync(`${dir}/o.log.args`), `out ${dir}/o.log err ${dir}/e.log\n`);
});

withDir("errors are one line naming the path or URI, and leave nothing open", async (dir) => {
  const bad = [
    [req({ stdin: `${dir}/missing` }), /^stdin ".*\/missing": .*ENOENT/],
    [req({ stdout: `${dir}/nodir/x` }), /^stdout ".*\/nodir\/x": .*ENOENT/],
    [
      req({ stdout: "binary:///nonexistent/lg?a=b" }),
      /^stdout "binary:\/\/\/nonexistent\/lg\?a=b": .*ENOENT/,
    ],
    [req({ stdout: "/dev/null", stderr: "file:///x" }), /^stderr "file:\/\/\/x": a URI needs/],
  ] as const;
  for (const [r, re] of bad) {
    await assert.rejects(openStdio(r), (e: unknown) => {
      assert.ok(e instanceof DenkiError);
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

withDir("binary://: a logger that never signals ready is killed and named", async (dir) => {
  const logger = `${dir}/slow.sh`;
  Deno.writeTextFileSync(logger, "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 });
  const uri = `binary://${logger}`;
  const pidsBefore = new Set(loggerPids());
  const t0 = performance.now();
  await assert.rejects(
    openStdio(req({ stdout: uri }), { loggerReadyMs: 200 }),
    new RegExp(`^DenkiError: stdout "binary://.*slow.sh": logging binary not ready after 200 ms$`),
  );
  assert.ok(performance.now() - t0 < 2000);
  const [pid] = [...loggerPids()].filter((p) => !pidsBefore.has(p));
  assert.ok(pid !== undefined, "the killed logger is left for the reaper");
  assert.deepEqual(await sc.waitChild(pid), { code: 137, signal: 9 });
  assert.ok(loggerReaped(pid));
});

function hasPtmx(): boolean {
  try {
    sc.close(openPtmx());
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "stdio: terminal copies stdin -> master -> stdout, resizes, drains at the peer's close" +
    (hasPtmx() ? "" : " [skipped: /dev/ptmx cannot be opened]"),
  ignore: !hasPtmx(),
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "denki-stdio-" });
    const before = fdCount();
    try {
      const fin = mkfifo(`${dir}/in`);
      const fout = mkfifo(`${dir}/out`);
      const outR = openReader(fout);
      const s = await openStdio(req({ stdin: fin, stdout: fout, stderr: "", terminal: true }));
      s.connectStdin();
      assert.equal(s.fds, undefined);
      const master = openPtmx();
      unlockPty(master);
      const peer = openPeer(master);
      setTermios(peer, makeRaw(getTermios(peer)!));
      setNonblocking(peer);
      s.attachConsole(master);
      s.resize(123, 45);
      assert.deepEqual(getWindowSize(peer), { rows: 45, cols: 123 });
      const w = openWriter(fin);
      sc.writeAll(w, enc.encode("typed"));
      assert.equal(await readFd(peer, "typed"), "typed");
      sc.writeAll(peer, enc.encode("printed"));
      assert.equal(await readFd(outR, "printed"), "printed");
      sc.writeAll(peer, enc.encode("last words"));
      sc.close(peer); // the process exited: the master reads the rest, then EIO
      const t0 = performance.now();
      await s.drained();
      assert.ok(performance.now() - t0 < 1000, "drained waited for its bound");
      assert.equal(await readFd(outR), "last words");
      sc.close(w);
      s.close();
      s.resize(1, 1); // no-op once closed
      sc.close(outR);
      await pollIdle();
      assert.equal(fdCount(), before, "fds leaked");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

/** A pty pair in raw mode; the peer non-blocking, as a test's stand-in for the container. */
function ptyPair(): { master: number; peer: number } {
  const master = openPtmx();
  unlockPty(master);
  const peer = openPeer(master);
  setTermios(peer, makeRaw(getTermios(peer)!));
  setNonblocking(peer);
  return { master, peer };
}

Deno.test({
  name: "stdio: terminal output to a logger; drained() is bounded while the peer stays open" +
    (hasPtmx() ? "" : " [skipped: /dev/ptmx cannot be opened]"),
  ignore: !hasPtmx(),
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "denki-stdio-" });
    const before = fdCount();
    try {
      const logger = `${dir}/logger.sh`;
      Deno.writeTextFileSync(
        logger,
        ["#!/bin/sh", 'cat <&4 > "$2.err" 5>&- &', "exec 5>&-", 'cat <&3 > "$2"', "wait"].join(
          "\n",
        ),
        { mode: 0o755 },
      );
      const s = await openStdio(
        req({ stdout: `binary://${logger}?o=${dir}/o.log`, terminal: true }),
        {
          drainMs: 300,
        },
      );
      const { master, peer } = ptyPair();
      s.attachConsole(master);
      sc.writeAll(peer, enc.encode("via the logger"));
      // A process still holding the peer: the output copy cannot end, drained() gives up.
      const t0 = performance.now();
      await s.drained();
      const waited = performance.now() - t0;
      assert.ok(waited >= 250 && waited < 1500, `drained waited ${waited} ms`);
      s.closeStdin(); // no stdin: a no-op
      s.close();
      sc.close(peer);
      assert.deepEqual(await sc.waitChild(s.loggerPid!), { code: 0, signal: null });
      loggerReaped(s.loggerPid!);
      assert.equal(Deno.readTextFileSync(`${dir}/o.log`), "via the logger");
      assert.equal(Deno.readTextFileSync(`${dir}/o.log.err`), "");
      await pollIdle();
      assert.equal(fdCount(), before, "fds leaked");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "stdio: terminal without stdout discards the output; attachConsole twice is refused" +
    (hasPtmx() ? "" : " [skipped: /dev/ptmx cannot be opened]"),
  ignore: !hasPtmx(),
  async fn() {
    const before = fdCount();
    const s = await openStdio(req({ terminal: true }));
    const { master, peer } = ptyPair();
    s.attachConsole(master);
    const second = ptyPair();
    assert.throws(() => s.attachConsole(second.master), /attach console fd \d+: twice/);
    sc.close(second.peer);
    sc.writeAll(peer, enc.encode("nobody reads this"));
    sc.close(peer);
    await s.drained();
    s.close();
    await pollIdle();
    assert.equal(fdCount(), before, "fds leaked");
  },
});
