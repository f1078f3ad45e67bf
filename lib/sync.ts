/**
 * The channel between `create` and the container init: JSON messages, one per line, over a
 * socketpair end that the init inherits. Blocking reads with raw syscalls, which work on any
 * thread and in any namespace; end of file means the other side is gone.
 *
 * A message may carry descriptors (the seccomp notify fd). Every read is a recvmsg with room
 * for them, since a plain read(2) of those bytes would silently drop the descriptors.
 */
import { SyscallError } from "./errors.ts";
import * as sc from "./sys/syscalls.ts";
import { recvWithFds, sendWithFds } from "./sys/unix.ts";

const EPIPE = 32;
const ECONNRESET = 104;

function peerGone(err: unknown): boolean {
  return err instanceof SyscallError && (err.errno === EPIPE || err.errno === ECONNRESET);
}

/** A message in either direction. */
export type SyncMessage = { type: string; [key: string]: unknown };

/** One end of the channel. */
export class SyncChannel {
  #buffered = "";
  /** Descriptors received so far and not yet taken. */
  #fds: number[] = [];
  readonly #decoder = new TextDecoder();

  constructor(readonly fd: number) {}

  /** Sends one message; false when the other side is gone. */
  send(msg: SyncMessage): boolean {
    try {
      sc.writeAll(this.fd, new TextEncoder().encode(JSON.stringify(msg) + "\n"), "sync socket");
      return true;
    } catch (err) {
      if (peerGone(err)) return false;
      throw err;
    }
  }

  /** Sends one message with descriptors attached; false when the other side is gone. */
  sendWithFds(msg: SyncMessage, fds: readonly number[]): boolean {
    try {
      sendWithFds(this.fd, new TextEncoder().encode(JSON.stringify(msg) + "\n"), fds);
      return true;
    } catch (err) {
      if (peerGone(err)) return false;
      throw err;
    }
  }

  /** The descriptors received with messages so far (close-on-exec), handed over once. */
  takeFds(): number[] {
    const fds = this.#fds;
    this.#fds = [];
    return fds;
  }

  /** The next message, or undefined when the other side closed the channel. */
  receive(): SyncMessage | undefined {
    for (;;) {
      const nl = this.#buffered.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        return JSON.parse(line) as SyncMessage;
      }
      let got: { data: Uint8Array; fds: number[] };
      try {
        got = recvWithFds(this.fd, 65536, 4);
      } catch (err) {
        // A peer that died with unread data resets the connection instead of closing it.
        if (peerGone(err)) return undefined;
        throw err;
      }
      this.#fds.push(...got.fds);
      if (got.data.length === 0) return undefined;
      this.#buffered += this.#decoder.decode(got.data, { stream: true });
    }
  }

  /** Closes this end, and any descriptors received but never taken. */
  close(): void {
    for (const fd of this.takeFds()) sc.close(fd);
    sc.close(this.fd);
  }
}
