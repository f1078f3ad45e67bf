import assert from "node:assert/strict";
import { cancelWaits, closeFd, pollIdle, spawnWithFds, waitFd } from "./async_io.ts";
import { POLLIN, setNonblocking } from "./pty.ts";
import * as sc from "./syscalls.ts";

const fdCount = () => sc.listDir("/proc/self/fd").length;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads a non-blocking fd to end-of-file through waitFd. */
async function readToEof(fd: number, timeoutMs = 5000): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = sc.tryRead(fd, buf);
    if (r.errno === sc.Errno.EAGAIN) {
      if ((await waitFd(fd, POLLIN, Math.max(1, end - Date.now()))) === 0) {
        throw new Error(
          `no end-of-file on fd ${fd} within ${timeoutMs} ms: ${JSON.stringify(text)}`,
        );
      }
      continue;
    }
    if (r.n <= 0) return text;
    text += dec.decode(buf.subarray(0, r.n));
  }
}

Deno.test("async_io: waitFd resolves on readiness, on timeout and on cancel; the poller goes idle", async () => {
  const before = fdCount();
  const [r, w] = sc.pipe("test");
  setNonblocking(r);
  const t0 = performance.now();
  assert.equal(await waitFd(r, POLLIN, 50), 0);
  assert.ok(performance.now() - t0 >= 45);
  const pending = waitFd(r, POLLIN);
  const other = waitFd(r, POLLIN);
  sc.writeAll(w, enc.encode("x"));
  assert.ok(((await pending) & POLLIN) !== 0);
  assert.ok(((await other) & POLLIN) !== 0);
  const cancelled = waitFd(r, POLLIN);
  sc.tryRead(r, new Uint8Array(8));
  cancelWaits(r);
  assert.equal(await cancelled, 0);
  // A close while the poll watches the fd is deferred until the poll returns.
  const watching = waitFd(r, POLLIN);
  closeFd(r);
  assert.equal(await watching, 0);
  sc.close(w);
  await pollIdle();
  assert.equal(fdCount(), before);
});

Deno.test("async_io: the event loop keeps running while a wait is pending", async () => {
  const [r, w] = sc.pipe("test");
  setNonblocking(r);
  const waiting = waitFd(r, POLLIN);
  let ticks = 0;
  await new Promise<void>((done) => {
    const t = setInterval(() => {
      if (++ticks === 5) {
        clearInterval(t);
        done();
      }
    }, 5);
  });
  sc.writeAll(w, enc.encode("x"));
  assert.ok(((await waiting) & POLLIN) !== 0);
  sc.close(r);
  sc.close(w);
  await pollIdle();
});

Deno.test("async_io: spawnWithFds maps fds, closes the rest, resets SIGPIPE and the mask", async () => {
  const before = fdCount();
  const [r, w] = sc.pipe("test");
  const [r2, w2] = sc.pipe("test");
  setNonblocking(r);
  setNonblocking(r2);
  const script = [
    "echo three >&3",
    "echo four >&4",
    "for n in 5 6 7 8 9; do [ -e /proc/self/fd/$n ] && echo open $n; done",
    "grep -E '^Sig(Ign|Blk)' /proc/self/status",
  ].join("; ");
  const pid = spawnWithFds("/bin/sh", ["sh", "-c", script], [], [[3, w], [4, w2], [1, w]], 3);
  sc.close(w);
  sc.close(w2);
  const [out, four] = await Promise.all([readToEof(r), readToEof(r2)]);
  assert.deepEqual(await sc.waitChild(pid), { code: 0, signal: null });
  assert.equal(four, "four\n");
  const lines = out.trim().split("\n");
  assert.equal(lines[0], "three");
  assert.ok(!out.includes("open "), out);
  const ign = BigInt("0x" + lines.find((l) => l.startsWith("SigIgn"))!.split(/\s+/)[1]);
  const blk = BigInt("0x" + lines.find((l) => l.startsWith("SigBlk"))!.split(/\s+/)[1]);
  assert.equal(ign & (1n << 12n), 0n, "SIGPIPE not ignored");
  assert.equal(blk, 0n);
  sc.close(r);
  sc.close(r2);
  await pollIdle();
  assert.equal(fdCount(), before);
});

Deno.test("async_io: spawnWithFds names the program when it cannot start", () => {
  assert.throws(
    () => spawnWithFds("/nonexistent/logger", ["x"], [], [], 3),
    /posix_spawn "\/nonexistent\/logger": ENOENT/,
  );
});
