import assert from "node:assert/strict";
import { acceptUnix, connectUnix, listenUnix, recvWithFds, sendWithFds } from "./unix.ts";
import { syscall } from "./libc.ts";

Deno.test("unix sockets: a message and two descriptors cross a connection", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/sock`;
  const server = listenUnix(path);
  const client = connectUnix(path);
  const conn = acceptUnix(server);
  const file = Deno.makeTempFileSync({ dir });
  Deno.writeTextFileSync(file, "passed along");
  // Deno.FsFile has no public fd: open the file through the raw syscall.
  const raw = Number(syscall("openat", -100, new TextEncoder().encode(file + "\0"), 0, 0).ret);
  try {
    sendWithFds(client, new TextEncoder().encode(`{"hello":1}`), [raw, raw]);
    const got = recvWithFds(conn);
    assert.equal(new TextDecoder().decode(got.data), `{"hello":1}`);
    assert.equal(got.fds.length, 2);
    const buf = new Uint8Array(64);
    const n = Number(syscall("read", got.fds[0]!, buf, buf.length).ret);
    assert.equal(new TextDecoder().decode(buf.subarray(0, n)), "passed along");
    for (const fd of got.fds) syscall("close", fd);
    assert.throws(() => connectUnix(`${dir}/missing`), /ENOENT/);
    assert.throws(() => connectUnix(`${dir}/${"x".repeat(120)}`), /ENAMETOOLONG/);
  } finally {
    for (const fd of [raw, client, conn, server]) syscall("close", fd);
    Deno.removeSync(dir, { recursive: true });
  }
});
