/**
 * Task events to containerd: each one a Forward call on containerd's ttrpc socket (the
 * TTRPC_ADDRESS containerd gives its shims), in order. containerd may be restarting: an
 * event that cannot be sent is retried with a growing pause for up to a minute, then dropped
 * with a warning, so one missing containerd never makes the shim hold memory without bound.
 */
import type { Logger } from "../log.ts";
import { eventForward, EVENTS_SERVICE, ForwardRequest, type TaskEvents } from "./proto/messages.ts";
import { encode, type MessageInit } from "./proto/wire.ts";
import { Code, TtrpcClient, TtrpcError } from "./ttrpc.ts";

const GIVE_UP_MS = 60_000;
const MAX_QUEUED = 10_000;

/** Publishes task events to containerd, one at a time and in order. */
export class Publisher {
  readonly #path: string;
  readonly #namespace: string;
  readonly #log: Logger;
  #queue: { topic: string; body: Uint8Array }[] = [];
  #client: TtrpcClient | undefined;
  #draining: Promise<void> | undefined;

  /** `address`: containerd's ttrpc socket ("" publishes nothing, for a shim run by hand). */
  constructor(address: string, namespace: string, log: Logger) {
    this.#path = address.replace(/^unix:\/\//, "");
    this.#namespace = namespace;
    this.#log = log;
  }

  /** Queues one event; it is sent after every event queued before it. */
  publish<K extends keyof TaskEvents>(kind: K, event: MessageInit<TaskEvents[K]>): void {
    if (this.#path === "") return;
    if (this.#queue.length >= MAX_QUEUED) {
      this.#log.warn(`event ${kind} dropped: ${MAX_QUEUED} events wait for containerd`);
      return;
    }
    const forward = eventForward(kind, this.#namespace, event);
    this.#queue.push({ topic: forward.envelope!.topic, body: encode(ForwardRequest, forward) });
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  /** Waits until every queued event was sent or dropped, at most `ms`. */
  async flush(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#draining,
      new Promise<void>((r) => (timer = setTimeout(r, ms))),
    ]);
    clearTimeout(timer);
  }

  /** Closes the connection to containerd. */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      const start = Date.now();
      let pause = 50;
      for (;;) {
        try {
          this.#client ??= await TtrpcClient.connect(this.#path);
          await this.#client.call(EVENTS_SERVICE, "Forward", next.body, 10_000);
          break;
        } catch (err) {
          this.close();
          // containerd answered and refused it: sending it again changes nothing. A closed
          // connection (containerd restarting) is not an answer.
          const refused = err instanceof TtrpcError && err.code !== Code.UNAVAILABLE;
          if (refused || Date.now() - start > GIVE_UP_MS) {
            this.#log.warn(`event ${next.topic} dropped: ${(err as Error).message}`);
            break;
          }
          await new Promise((r) => setTimeout(r, pause));
          pause = Math.min(pause * 2, 2000);
        }
      }
      this.#queue.shift();
    }
  }
}
