/**
 * A guest's stdio when it runs in the shim (hosted.ts): the shim's fds 0-2 are not the
 * container's, so the guest's Worker hands its output to the parent thread in messages and
 * asks it for input, blocking on a shared buffer until the answer is there (WASI's fd_read is
 * synchronous). Output waits while more than OUT_LIMIT bytes are not yet written, so a guest
 * that writes faster than its reader drains cannot fill the shim's memory.
 */

/** Output the parent has not written yet, above which the guest waits. */
export const OUT_LIMIT = 1 << 20;
/** The largest stdin chunk one request returns. */
export const IN_CHUNK = 64 * 1024;

/** ctl[0]: output bytes in flight; ctl[1]: 0 while a read waits, n + 1 once n bytes are in. */
const OUT = 0;
const IN = 1;
const HEADER = 8;

/** A request from the guest's thread to the parent. */
export type StdioRequest =
  | { type: "output"; fd: 1 | 2; data: Uint8Array }
  | { type: "stdin"; max: number };

/** The shared buffer for one guest's stdio. */
export function stdioChannel(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER + IN_CHUNK);
}

/** The guest side: a GuestStdio over messages to the parent and the shared buffer. */
export function bridgedStdio(
  channel: SharedArrayBuffer,
  post: (req: StdioRequest) => void,
): { read(buf: Uint8Array): number; write(fd: 1 | 2, bytes: Uint8Array): void } {
  const ctl = new Int32Array(channel, 0, 2);
  const data = new Uint8Array(channel, HEADER);
  return {
    write(fd, bytes) {
      if (bytes.length === 0) return;
      Atomics.add(ctl, OUT, bytes.length);
      post({ type: "output", fd, data: bytes.slice() });
      for (;;) {
        const pending = Atomics.load(ctl, OUT);
        if (pending <= OUT_LIMIT) break;
        Atomics.wait(ctl, OUT, pending, 100);
      }
    },
    read(buf) {
      Atomics.store(ctl, IN, 0);
      post({ type: "stdin", max: Math.min(buf.length, IN_CHUNK) });
      while (Atomics.load(ctl, IN) === 0) Atomics.wait(ctl, IN, 0);
      const n = Atomics.load(ctl, IN) - 1;
      buf.set(data.subarray(0, n));
      Atomics.store(ctl, IN, 0);
      return n;
    },
  };
}

/** The parent side: `written` bytes of output are out (the guest may write on). */
export function outputWritten(channel: SharedArrayBuffer, written: number): void {
  const ctl = new Int32Array(channel, 0, 2);
  Atomics.sub(ctl, OUT, written);
  Atomics.notify(ctl, OUT);
}

/** The parent side: answers a stdin request with `chunk` (empty: end of file). */
export function stdinAnswer(channel: SharedArrayBuffer, chunk: Uint8Array): void {
  const ctl = new Int32Array(channel, 0, 2);
  new Uint8Array(channel, HEADER).set(chunk);
  Atomics.store(ctl, IN, chunk.length + 1);
  Atomics.notify(ctl, IN);
}
