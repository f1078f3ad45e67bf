import assert from "node:assert/strict";
import { F_GETFL, MSG_PEEK, O_NONBLOCK } from "../plan/abi.ts";
import { Errno } from "../plan/errno.ts";
import { close } from "./call.ts";
import { fcntl } from "./memfd.ts";
import { accept, recv, send, shutdown } from "./net.ts";
import { setNonblocking } from "./pty.ts";
import { socketpair } from "./syscalls.ts";
import { connectUnix, listenUnix } from "./unix.ts";

Deno.test("net: send, recv (peeking too), shutdown and their errnos", () => {
  const [a, b] = socketpair();
  try {
    const buf = new Uint8Array(8);
    assert.deepEqual(send(a, new TextEncoder().encode("hi")), { n: 2, errno: 0 });
    assert.deepEqual(recv(b, buf, MSG_PEEK), { n: 2, errno: 0 });
    assert.deepEqual(recv(b, buf, 0), { n: 2, errno: 0 }, "the peeked bytes are still there");
    assert.equal(new TextDecoder().decode(buf.subarray(0, 2)), "hi");
    assert.equal(shutdown(a, 1), 0);
    assert.deepEqual(recv(b, buf, 0), { n: 0, errno: 0 }, "end of stream after the shutdown");
    assert.equal(send(a, buf).errno, Errno.EPIPE, "MSG_NOSIGNAL: EPIPE, no SIGPIPE");
    assert.equal(shutdown(-1, 2), Errno.EBADF);
  } finally {
    close(a);
    close(b);
  }
});

Deno.test("net: accept gives a socket, non-blocking when asked", () => {
  const dir = Deno.makeTempDirSync({ prefix: "denki-net-" });
  const listener = listenUnix(`${dir}/s`);
  try {
    const client = connectUnix(`${dir}/s`);
    const got = accept(listener, true);
    assert.equal(got.errno, 0);
    assert.equal(fcntl(got.n, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
    close(got.n);
    close(client);
    // With nothing waiting, a non-blocking listener says EAGAIN.
    setNonblocking(listener);
    assert.deepEqual(accept(listener, false), { n: -1, errno: Errno.EAGAIN });
  } finally {
    close(listener);
    Deno.removeSync(dir, { recursive: true });
  }
});
