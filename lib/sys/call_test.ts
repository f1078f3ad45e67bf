import assert from "node:assert/strict";
import { SyscallError } from "../errors.ts";
import { Errno } from "../plan/errno.ts";
import { check, close, tryCall } from "./call.ts";
import { cString } from "./libc.ts";

const here = (file: string) => JSON.stringify(new URL(file, import.meta.url).href);

/**
 * Runs `body` in a child Deno whose JS thread is its main thread (in `deno test` the tests run
 * on another thread), while a shell sends the child SIGUSR1 after 150 ms. A process-directed
 * signal goes to the main thread when it is waiting and does not block the signal, so a call
 * `body` blocks in sees EINTR. `body` leaves its result in `out`; returns it as JSON.
 */
async function interrupted(body: string): Promise<Record<string, unknown>> {
  const code = `
    const { attempt } = await import(${here("./call.ts")});
    const { ppoll } = await import(${here("./poll.ts")});
    const { pipe } = await import(${here("./syscalls.ts")});
    let signals = 0;
    Deno.addSignalListener("SIGUSR1", () => signals++);
    new Deno.Command("sh", { args: ["-c", \`sleep 0.15; kill -USR1 \${Deno.pid}\`] }).spawn();
    await new Promise((r) => setTimeout(r, 20));
    const [r] = pipe("test");
    const start = performance.now();
    let out;
    ${body}
    const ms = performance.now() - start;
    await new Promise((r) => setTimeout(r, 50));
    console.log(JSON.stringify({ ...out, ms, signals }, (_, v) => typeof v === "bigint" ? Number(v) : v));
    Deno.exit(0);`;
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "-A", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(child.stdout);
  assert.ok(child.success, new TextDecoder().decode(child.stderr));
  return JSON.parse(text);
}

Deno.test("ppoll: a signal ends the wait with EINTR (it is never retried)", async () => {
  const got = await interrupted(`out = ppoll([{ fd: r, events: 1 }], 10_000_000_000n);`);
  assert.equal(got.signals, 1);
  assert.equal(got.ready, 0);
  assert.equal(got.errno, Errno.EINTR);
  assert.ok((got.ms as number) < 5000, "returned at the signal, not at the timeout");
});

Deno.test("attempt: a call a signal interrupts is made again", async () => {
  // ppoll for 600 ms with a signal at 150 ms: made again (the kernel has written the time left
  // back into the timeout), it times out (0) at 600 ms instead of failing at 150.
  const got = await interrupted(`
    const pfd = new Uint8Array(8);
    new DataView(pfd.buffer).setInt32(0, r, true);
    new DataView(pfd.buffer).setInt16(4, 1, true);
    const ts = new BigInt64Array([0n, 600_000_000n]);
    out = attempt("ppoll", pfd, 1, new Uint8Array(ts.buffer), 0, 8);`);
  assert.equal(got.signals, 1);
  assert.deepEqual([got.ret, got.errno], [0, 0]);
  assert.ok((got.ms as number) >= 550, `waited on after the signal (${got.ms} ms)`);
});

Deno.test("check and tryCall: a failure names the call and what it acted on", () => {
  const path = "/nonexistent/denki-call-test";
  assert.throws(() => check("openat", path, -100, cString(path), 0, 0), (err) => {
    assert.ok(err instanceof SyscallError);
    assert.equal(err.errno, Errno.ENOENT);
    assert.equal(err.message, `openat "${path}": ENOENT (no such file or directory)`);
    return true;
  });
  assert.deepEqual(tryCall("close", -1), { n: -1, errno: Errno.EBADF });
  const fd = check("openat", "/", -100, cString("/"), 0, 0);
  assert.ok(fd >= 0);
  close(fd);
});
