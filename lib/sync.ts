/**
 * The channel between `create` and the container init: JSON messages, one per line, over a
 * socketpair end that the init inherits. Blocking reads with raw syscalls, which work on any
 * thread and in any namespace; end of file means the other side is gone.
 */
import { SyscallError } from "./errors.ts";
import * as sc from "./sys/syscalls.ts";

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

  /** The next message, or undefined when the other side closed the channel. */
  receive(): SyncMessage | undefined {
    for (;;) {
      const nl = this.#buffered.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        return JSON.parse(line) as SyncMessage;
      }
      const buf = new Uint8Array(65536);
      let n: number;
      try {
        n = sc.read(this.fd, buf, "sync socket");
      } catch (err) {
        // A peer that died with unread data resets the connection instead of closing it.
        if (peerGone(err)) return undefined;
        throw err;
      }
      if (n === 0) return undefined;
      this.#buffered += this.#decoder.decode(buf.subarray(0, n), { stream: true });
    }
  }

  /** Closes this end. */
  close(): void {
    sc.close(this.fd);
  }
}
