/**
 * The channel between `create` (or `exec`) and the container init: JSON messages, one per
 * line, over a socketpair end that the init inherits. The messages are typed in
 * lib/sync/messages.ts; each end checks what it receives against the other side's union, so a
 * reader never casts. Blocking reads with raw syscalls, which work on any thread and in any
 * namespace; end of file means the other side is gone.
 *
 * A message may carry descriptors (the seccomp notify fd). Every read is a recvmsg with room
 * for them, since a plain read(2) of those bytes would silently drop the descriptors.
 */
import { DenkiError, quote, SyscallError } from "./errors.ts";
import * as sc from "./sys/syscalls.ts";
import { recvWithFds, sendWithFds } from "./sys/unix.ts";
import {
  checkInitMessage,
  checkRuntimeMessage,
  encodeMessage,
  type InitMessage,
  type MessageCheck,
  type RuntimeMessage,
  type SyncMessage,
  unexpectedMessage,
} from "./sync/messages.ts";

export type { InitMessage, RuntimeMessage, SyncMessage } from "./sync/messages.ts";
export { unexpectedMessage } from "./sync/messages.ts";

function peerGone(err: unknown): boolean {
  return err instanceof SyscallError &&
    (err.errno === sc.Errno.EPIPE || err.errno === sc.Errno.ECONNRESET);
}

/**
 * The largest message either side sends or takes, in bytes. The biggest is the bootstrap,
 * which carries the whole config.json text: at most 64 Mi characters (lib/spec/parse.ts), and
 * each character is at most 3 bytes once JSON-escaped and UTF-8 encoded. So this leaves room
 * for any config denki accepts, while a runaway or hostile peer cannot make the other side
 * buffer without bound.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

const NEWLINE = 0x0a;
const EMPTY = new Uint8Array(0);

/**
 * One end of the channel: sends `Out` messages, receives `In` ones (lib/sync/messages.ts);
 * `runtimeEnd` and `initEnd` make the two kinds.
 */
export class SyncChannel<Out extends SyncMessage, In extends SyncMessage> {
  /** Bytes of the current, unfinished line: already searched, none holds a newline. */
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  /** Received bytes not searched yet. */
  #unread: Uint8Array = EMPTY;
  /** Descriptors received so far and not yet taken. */
  #fds: number[] = [];

  /**
   * `check` turns a received value into an `In` message; `peer` names the other side in
   * errors; `maxBytes` caps a message (tests lower it).
   */
  constructor(
    readonly fd: number,
    readonly check: MessageCheck<In>,
    readonly peer: string,
    readonly maxBytes = MAX_MESSAGE_BYTES,
  ) {}

  /** Sends one message; false when the other side is gone. */
  send(msg: Out): boolean {
    try {
      sc.writeAll(this.fd, this.#encode(msg), "sync socket");
      return true;
    } catch (err) {
      if (peerGone(err)) return false;
      throw err;
    }
  }

  /** Sends one message with descriptors attached; false when the other side is gone. */
  sendWithFds(msg: Out, fds: readonly number[]): boolean {
    try {
      sendWithFds(this.fd, this.#encode(msg), fds);
      return true;
    } catch (err) {
      if (peerGone(err)) return false;
      throw err;
    }
  }

  #encode(msg: Out): Uint8Array {
    const bytes = new TextEncoder().encode(encodeMessage(msg));
    if (bytes.length > this.maxBytes) {
      throw new DenkiError(
        `cannot send the ${
          quote(msg.type)
        } message to ${this.peer}: it has ${bytes.length} bytes, more than the ${this.maxBytes} a message may have`,
      );
    }
    return bytes;
  }

  /** The descriptors received with messages so far (close-on-exec), handed over once. */
  takeFds(): number[] {
    const fds = this.#fds;
    this.#fds = [];
    return fds;
  }

  /**
   * The next message, or undefined when the other side closed the channel; a line that is
   * not one of the `In` messages is a one-line DenkiError quoting a short prefix of it. Each
   * byte is searched for the newline once and copied once, so a message of any size costs
   * time in proportion to its length.
   */
  receive(): In | undefined {
    for (;;) {
      if (this.#unread.length > 0) {
        const nl = this.#unread.indexOf(NEWLINE);
        const end = nl >= 0 ? nl : this.#unread.length;
        if (this.#partBytes + end > this.maxBytes) this.#tooLong();
        if (nl >= 0) {
          const line = this.#take(this.#unread.subarray(0, nl));
          this.#unread = this.#unread.subarray(nl + 1);
          return this.#parse(new TextDecoder().decode(line));
        }
        this.#parts.push(this.#unread);
        this.#partBytes += this.#unread.length;
        this.#unread = EMPTY;
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
      this.#unread = got.data;
    }
  }

  #parse(line: string): In {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw unexpectedMessage(this.peer, line, "not JSON");
    }
    const msg = this.check(value);
    if (typeof msg === "string") throw unexpectedMessage(this.peer, line, msg);
    return msg;
  }

  /** The buffered parts plus `last`, as one array; the buffer is left empty. */
  #take(last: Uint8Array): Uint8Array {
    if (this.#parts.length === 0) return last;
    const line = new Uint8Array(this.#partBytes + last.length);
    let off = 0;
    for (const part of this.#parts) {
      line.set(part, off);
      off += part.length;
    }
    line.set(last, off);
    this.#parts = [];
    this.#partBytes = 0;
    return line;
  }

  #tooLong(): never {
    // What is buffered is useless now: drop it rather than hold it while the error unwinds.
    this.#parts = [];
    this.#partBytes = 0;
    this.#unread = EMPTY;
    throw new DenkiError(
      `message from ${this.peer} is longer than the ${this.maxBytes} bytes a message may have`,
    );
  }

  /** Closes this end, and any descriptors received but never taken. */
  close(): void {
    for (const fd of this.takeFds()) sc.close(fd);
    sc.close(this.fd);
  }
}

/** The runtime's end (`create`, `exec`): sends to the Deno init, receives from any init. */
export type RuntimeEnd = SyncChannel<RuntimeMessage, InitMessage>;

/** The Deno init's end. */
export type InitEnd = SyncChannel<InitMessage, RuntimeMessage>;

/** Makes the runtime's end on `fd`; `peer` names the init in errors. */
export function runtimeEnd(
  fd: number,
  peer = "container init",
  maxBytes = MAX_MESSAGE_BYTES,
): RuntimeEnd {
  return new SyncChannel(fd, checkInitMessage, peer, maxBytes);
}

/** Makes the Deno init's end on `fd`. */
export function initEnd(fd: number, maxBytes = MAX_MESSAGE_BYTES): InitEnd {
  return new SyncChannel(fd, checkRuntimeMessage, "create", maxBytes);
}
