/**
 * ttrpc, containerd's small RPC protocol, over unix stream sockets: the framing and behaviour of
 * github.com/containerd/ttrpc as vendored in containerd v1.6.20. Each frame is a 10-byte header
 * (uint32 BE length of the body, uint32 BE stream id, uint8 type: 1 request, 2 response, uint8
 * flags) and a protobuf body (ttrpc.Request / ttrpc.Response) of at most 4 MiB. Clients use odd
 * stream ids; a response carries its request's id, so calls on one connection complete in any
 * order. Errors travel as google.rpc.Status with gRPC codes.
 */
import { decode, encode, type MessageInit, type Schema } from "./proto/wire.ts";
import { TtrpcRequest, TtrpcResponse } from "./proto/messages.ts";

/** gRPC status codes, as ttrpc uses them. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** An error with a gRPC status code: what a handler throws, and what a failed call rejects with. */
export class TtrpcError extends Error {
  override name = "TtrpcError";
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** What a handler learns about its call besides the payload. */
export interface CallContext {
  /** The request's metadata, key to values, as the client sent it. */
  metadata: Record<string, string[]>;
  /** The client's deadline relative to sending, in nanoseconds; 0n for none. */
  timeoutNano: bigint;
}

/** A method implementation: request payload in, response payload out. */
export type Handler = (payload: Uint8Array, ctx: CallContext) => Promise<Uint8Array>;

const HEADER = 10;
/** ttrpc's messageLengthMax. */
export const MAX_MESSAGE = 4 << 20;
const TYPE_REQUEST = 1;
const TYPE_RESPONSE = 2;

function frame(streamId: number, type: number, body: Uint8Array): Uint8Array {
  const f = new Uint8Array(HEADER + body.length);
  const dv = new DataView(f.buffer);
  dv.setUint32(0, body.length);
  dv.setUint32(4, streamId);
  f[8] = type;
  f[9] = 0;
  f.set(body, HEADER);
  return f;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Buffered reads of whole frames from a connection. */
class FrameReader {
  private buf = new Uint8Array(64 * 1024);
  private start = 0;
  private end = 0;
  constructor(private readonly conn: Deno.Conn) {}

  private async fill(): Promise<boolean> {
    if (this.start === this.end) this.start = this.end = 0;
    if (this.end === this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    const n = await this.conn.read(this.buf.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    return true;
  }

  /** Fills `dst`; false on a clean end of stream before the first byte, throws on a short read. */
  async readFull(dst: Uint8Array): Promise<boolean> {
    let off = 0;
    while (off < dst.length) {
      if (this.start === this.end) {
        // Large bodies go straight into their buffer, not through ours.
        if (dst.length - off >= this.buf.length) {
          const n = await this.conn.read(dst.subarray(off));
          if (n === null) return this.eof(off);
          off += n;
          continue;
        }
        if (!(await this.fill())) return this.eof(off);
      }
      const n = Math.min(dst.length - off, this.end - this.start);
      dst.set(this.buf.subarray(this.start, this.start + n), off);
      this.start += n;
      off += n;
    }
    return true;
  }

  /** Skips `n` bytes without holding them. */
  async discard(n: number): Promise<void> {
    while (n > 0) {
      if (this.start === this.end && !(await this.fill())) throw new Error("connection closed");
      const k = Math.min(n, this.end - this.start);
      this.start += k;
      n -= k;
    }
  }

  private eof(got: number): boolean {
    if (got === 0) return false;
    throw new Error("connection closed in the middle of a frame");
  }

  /** The next frame's header and body; undefined at end of stream. Oversize bodies are skipped. */
  async next(): Promise<
    { streamId: number; type: number; length: number; body?: Uint8Array } | undefined
  > {
    const h = new Uint8Array(HEADER);
    if (!(await this.readFull(h))) return undefined;
    const dv = new DataView(h.buffer);
    const length = dv.getUint32(0);
    const streamId = dv.getUint32(4);
    const type = h[8]!;
    if (length > MAX_MESSAGE) {
      await this.discard(length);
      return { streamId, type, length };
    }
    const body = new Uint8Array(length);
    if (length > 0 && !(await this.readFull(body))) throw new Error("connection closed");
    return { streamId, type, length, body };
  }
}

function oversize(length: number): string {
  return `message length ${length} exceed maximum message size of ${MAX_MESSAGE}`;
}

function statusOf(e: unknown): { code: number; message: string } {
  if (e instanceof TtrpcError) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: Code.UNKNOWN, message: e.message };
  return { code: Code.UNKNOWN, message: String(e) };
}

/** One accepted connection: reads requests, runs them concurrently, writes whole responses. */
class ServerConn {
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly conn: Deno.Conn,
    private readonly services: Map<string, Map<string, Handler>>,
  ) {}

  async run(): Promise<void> {
    const reader = new FrameReader(this.conn);
    try {
      while (!this.closed) {
        const f = await reader.next();
        if (f === undefined) break;
        if (f.body === undefined) {
          this.respond(f.streamId, { code: Code.RESOURCE_EXHAUSTED, message: oversize(f.length) });
          continue;
        }
        // Go's server ignores frames of other types "for future compat".
        if (f.type !== TYPE_REQUEST) continue;
        this.dispatch(f.streamId, f.body);
      }
    } catch {
      // A broken or garbled stream ends this connection only.
    } finally {
      this.close();
    }
  }

  private dispatch(streamId: number, body: Uint8Array): void {
    let req: TtrpcRequest;
    try {
      req = decode(TtrpcRequest, body);
    } catch (e) {
      const message = `unmarshal request error: ${(e as Error).message}`;
      return this.respond(streamId, { code: Code.INVALID_ARGUMENT, message });
    }
    if (streamId % 2 !== 1) {
      const message = "StreamID must be odd for client initiated streams";
      return this.respond(streamId, { code: Code.INVALID_ARGUMENT, message });
    }
    const service = this.services.get(req.service);
    const handler = service?.get(req.method);
    if (handler === undefined) {
      const message = service === undefined ? `service ${req.service}` : `method ${req.method}`;
      return this.respond(streamId, { code: Code.UNIMPLEMENTED, message });
    }
    const metadata: Record<string, string[]> = Object.create(null);
    for (const kv of req.metadata) (metadata[kv.key] ??= []).push(kv.value);
    const ctx: CallContext = { metadata, timeoutNano: req.timeoutNano };
    Promise.resolve()
      .then(() => handler(req.payload, ctx))
      .then(
        (payload) => this.respond(streamId, { code: Code.OK, message: "" }, payload),
        (e) => this.respond(streamId, statusOf(e)),
      )
      .catch(() => this.close());
  }

  private respond(
    streamId: number,
    status: { code: number; message: string },
    payload?: Uint8Array,
  ): void {
    if (this.closed) return;
    let body: Uint8Array;
    try {
      body = encode(TtrpcResponse, { status, ...(payload === undefined ? {} : { payload }) });
    } catch (e) {
      // A handler returned something that is not bytes.
      body = encode(TtrpcResponse, { status: statusOf(e) });
    }
    if (body.length > MAX_MESSAGE) {
      const message = oversize(body.length);
      body = encode(TtrpcResponse, { status: { code: Code.RESOURCE_EXHAUSTED, message } });
    }
    const f = frame(streamId, TYPE_RESPONSE, body);
    this.writing = this.writing
      .then(() => (this.closed ? undefined : writeAll(this.conn, f)))
      .catch(() => this.close());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** A ttrpc server: services registered by name, served on unix-socket listeners. */
export class TtrpcServer {
  private services = new Map<string, Map<string, Handler>>();
  private listeners = new Set<Deno.Listener>();
  private conns = new Map<ServerConn, Promise<void>>();
  private closing = false;

  /** Registers `service` with its methods; a name registers once. */
  register(service: string, methods: Record<string, Handler>): void {
    if (this.services.has(service)) throw new Error(`ttrpc: duplicate service ${service}`);
    this.services.set(service, new Map(Object.entries(methods)));
  }

  /** Accepts and serves connections until the listener or the server is closed; never throws. */
  async serve(listener: Deno.Listener): Promise<void> {
    if (this.closing) return;
    this.listeners.add(listener);
    let backoff = 0;
    try {
      while (!this.closing) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch (e) {
          if (this.closing || e instanceof Deno.errors.BadResource) return;
          if (e instanceof Deno.errors.Interrupted) return;
          // Transient (EMFILE and the like): back off as Go's server does, up to a second.
          backoff = Math.min(backoff === 0 ? 5 : backoff * 2, 1000);
          await new Promise((r) => setTimeout(r, backoff));
          continue;
        }
        backoff = 0;
        if (this.closing) {
          conn.close();
          return;
        }
        const sc = new ServerConn(conn, this.services);
        const done = sc.run().finally(() => this.conns.delete(sc));
        this.conns.set(sc, done);
      }
    } finally {
      this.listeners.delete(listener);
    }
  }

  /** Stops accepting, closes every connection and waits for their readers to end. */
  async close(): Promise<void> {
    this.closing = true;
    for (const l of this.listeners) {
      try {
        l.close();
      } catch {
        // already closed
      }
    }
    this.listeners.clear();
    const running = [...this.conns.values()];
    for (const sc of this.conns.keys()) sc.close();
    await Promise.allSettled(running);
  }
}

interface Pending {
  resolve: (payload: Uint8Array) => void;
  reject: (e: TtrpcError) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/** A ttrpc client on one unix-socket connection; calls may overlap. */
export class TtrpcClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  private reading: Promise<void>;

  private constructor(private readonly conn: Deno.Conn) {
    this.reading = this.readLoop();
  }

  /** Connects to the ttrpc server listening on the unix socket at `path`. */
  static async connect(path: string): Promise<TtrpcClient> {
    const conn = await Deno.connect({ transport: "unix", path });
    return new TtrpcClient(conn);
  }

  /** Calls `service`/`method`; rejects with TtrpcError for a non-OK status or a lost connection. */
  call(
    service: string,
    method: string,
    payload: Uint8Array,
    timeoutMs?: number,
  ): Promise<Uint8Array> {
    if (this.closed) {
      return Promise.reject(new TtrpcError(Code.UNAVAILABLE, "ttrpc: closed"));
    }
    const streamId = this.nextId;
    this.nextId = (this.nextId + 2) >>> 0 || 1;
    const timeoutNano = timeoutMs === undefined ? 0n : BigInt(Math.ceil(timeoutMs * 1e6));
    const body = encode(TtrpcRequest, { service, method, payload, timeoutNano });
    if (body.length > MAX_MESSAGE) {
      return Promise.reject(new TtrpcError(Code.RESOURCE_EXHAUSTED, oversize(body.length)));
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          this.pending.delete(streamId);
          reject(new TtrpcError(Code.DEADLINE_EXCEEDED, `${service}/${method}: deadline exceeded`));
        }, timeoutMs);
      }
      this.pending.set(streamId, p);
      const f = frame(streamId, TYPE_REQUEST, body);
      this.writing = this.writing
        .then(() => (this.closed ? undefined : writeAll(this.conn, f)))
        .catch(() => this.close());
    });
  }

  private settle(streamId: number, outcome: Uint8Array | TtrpcError): void {
    const p = this.pending.get(streamId);
    if (p === undefined) return; // timed out already, or never ours
    this.pending.delete(streamId);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (outcome instanceof TtrpcError) p.reject(outcome);
    else p.resolve(outcome);
  }

  private async readLoop(): Promise<void> {
    const reader = new FrameReader(this.conn);
    try {
      while (true) {
        const f = await reader.next();
        if (f === undefined) break;
        if (f.body === undefined) {
          this.settle(f.streamId, new TtrpcError(Code.RESOURCE_EXHAUSTED, oversize(f.length)));
          continue;
        }
        if (f.type !== TYPE_RESPONSE) continue;
        let res: TtrpcResponse;
        try {
          res = decode(TtrpcResponse, f.body);
        } catch (e) {
          const message = `ttrpc: bad response: ${(e as Error).message}`;
          this.settle(f.streamId, new TtrpcError(Code.INTERNAL, message));
          continue;
        }
        const st = res.status;
        if (st !== undefined && st.code !== Code.OK) {
          this.settle(f.streamId, new TtrpcError(st.code, st.message));
        } else this.settle(f.streamId, res.payload);
      }
    } catch {
      // the connection broke: every pending call fails below
    } finally {
      this.close();
    }
  }

  /** Closes the connection; pending calls reject with UNAVAILABLE. */
  close(): void {
    if (!this.closed) {
      this.closed = true;
      try {
        this.conn.close();
      } catch {
        // already closed
      }
    }
    for (const id of [...this.pending.keys()]) {
      this.settle(id, new TtrpcError(Code.UNAVAILABLE, "ttrpc: closed"));
    }
  }

  /** Resolves once the reader has stopped (after close or the server hanging up). */
  get done(): Promise<void> {
    return this.reading;
  }
}

/** Typed wrapper: decodes the request, runs fn, encodes the response. */
export function unary<Req, Res>(
  req: Schema<Req>,
  res: Schema<Res>,
  fn: (r: Req, ctx: CallContext) => Promise<MessageInit<Res>>,
): Handler {
  return async (payload, ctx) => {
    let r: Req;
    try {
      r = decode(req, payload);
    } catch (e) {
      throw new TtrpcError(
        Code.INVALID_ARGUMENT,
        `unmarshal request error: ${(e as Error).message}`,
      );
    }
    return encode(res, await fn(r, ctx));
  };
}
