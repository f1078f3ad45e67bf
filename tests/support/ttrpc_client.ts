/**
 * A deliberately small ttrpc client for tests that talk to a shim's socket directly, written
 * from the ttrpc protocol description: a frame is a 10-byte header (payload length u32 BE,
 * stream id u32 BE, type u8 — 1 request, 2 response —, flags u8) and a protobuf payload; a
 * request is `Request{service=1, method=2, payload=3, timeout_nano=4}`, an answer
 * `Response{status=1 (google.rpc.Status{code=1, message=2}), payload=2}`. It can send frames
 * a real client never would (garbage, unknown methods) and reports whether the server
 * answered, and how, or closed the connection.
 */

const HEADER = 10;
/** Frame type of a request. */
export const REQUEST = 1;
/** Frame type of a response. */
export const RESPONSE = 2;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

function bytesField(field: number, value: Uint8Array): number[] {
  return [...varint((field << 3) | 2), ...varint(value.length), ...value];
}

/** The protobuf bytes of a ttrpc Request. */
export function encodeRequest(service: string, method: string, payload: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  return new Uint8Array([
    ...bytesField(1, enc.encode(service)),
    ...bytesField(2, enc.encode(method)),
    ...bytesField(3, payload),
  ]);
}

/** A frame: header plus `body`; `length` overrides the header's length field. */
export function frame(stream: number, type: number, body: Uint8Array, length?: number): Uint8Array {
  const out = new Uint8Array(HEADER + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, length ?? body.length);
  v.setUint32(4, stream);
  v.setUint8(8, type);
  v.setUint8(9, 0);
  out.set(body, HEADER);
  return out;
}

/** A decoded answer frame. */
export interface Answer {
  stream: number;
  type: number;
  /** google.rpc.Status code (0 when the status is absent, i.e. OK). */
  code: number;
  message: string;
  payload: Uint8Array;
}

function readVarint(buf: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (at >= buf.length) throw new Error("protobuf: varint runs past the end");
    const b = buf[at++]!;
    v |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) return [v, at];
  }
}

/** The fields of a protobuf message as (field number → last value), varints and bytes only. */
function fields(buf: Uint8Array): Map<number, bigint | Uint8Array> {
  const out = new Map<number, bigint | Uint8Array>();
  let at = 0;
  while (at < buf.length) {
    const [key, next] = readVarint(buf, at);
    at = next;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, n] = readVarint(buf, at);
      out.set(field, v);
      at = n;
    } else if (wire === 2) {
      const [len, n] = readVarint(buf, at);
      out.set(field, buf.subarray(n, n + Number(len)));
      at = n + Number(len);
    } else if (wire === 1) {
      at += 8;
    } else if (wire === 5) {
      at += 4;
    } else {
      throw new Error(`protobuf: wire type ${wire} of field ${field}`);
    }
  }
  return out;
}

/** Decodes a Response payload's status and payload. */
export function decodeResponse(body: Uint8Array): Pick<Answer, "code" | "message" | "payload"> {
  const f = fields(body);
  const status = f.get(1);
  const payload = f.get(2);
  let code = 0;
  let message = "";
  if (status instanceof Uint8Array) {
    const s = fields(status);
    const c = s.get(1);
    const m = s.get(2);
    if (typeof c === "bigint") code = Number(BigInt.asIntN(32, c));
    if (m instanceof Uint8Array) message = new TextDecoder().decode(m);
  }
  return { code, message, payload: payload instanceof Uint8Array ? payload : new Uint8Array() };
}

/** One connection to a ttrpc server. */
export class TtrpcConn {
  #buf = new Uint8Array();
  #closed = false;

  private constructor(readonly conn: Deno.UnixConn) {}

  /** Connects to the unix socket at `path`. */
  static async connect(path: string): Promise<TtrpcConn> {
    return new TtrpcConn(await Deno.connect({ transport: "unix", path }));
  }

  /** Writes raw bytes (a frame or anything else). */
  async send(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Closes the writing half: the server reads EOF. */
  async closeWrite(): Promise<void> {
    await this.conn.closeWrite();
  }

  async #fill(n: number, deadline: number): Promise<boolean> {
    while (this.#buf.length < n) {
      if (this.#closed) return false;
      const chunk = new Uint8Array(65536);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`ttrpc: no answer within the time limit`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        this.conn.read(chunk).catch(() => null),
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left)),
      ]);
      clearTimeout(timer);
      if (got === "timeout") throw new Error(`ttrpc: no answer within the time limit`);
      if (got === null) {
        this.#closed = true;
        return false;
      }
      const joined = new Uint8Array(this.#buf.length + got);
      joined.set(this.#buf);
      joined.set(chunk.subarray(0, got), this.#buf.length);
      this.#buf = joined;
    }
    return true;
  }

  /**
   * The next frame from the server, decoded as a Response, or "closed" when the server closed
   * the connection first. Throws when neither happens within `ms`.
   */
  async next(ms = 5000): Promise<Answer | "closed"> {
    const deadline = Date.now() + ms;
    if (!(await this.#fill(HEADER, deadline))) return "closed";
    const v = new DataView(this.#buf.buffer, this.#buf.byteOffset);
    const length = v.getUint32(0);
    const stream = v.getUint32(4);
    const type = v.getUint8(8);
    if (!(await this.#fill(HEADER + length, deadline))) return "closed";
    const body = this.#buf.slice(HEADER, HEADER + length);
    this.#buf = this.#buf.slice(HEADER + length);
    return { stream, type, ...decodeResponse(body) };
  }

  /** Sends one request and returns the server's answer to it (or "closed"). */
  async call(
    stream: number,
    service: string,
    method: string,
    payload: Uint8Array,
  ): Promise<Answer | "closed"> {
    await this.send(frame(stream, REQUEST, encodeRequest(service, method, payload)));
    return await this.next();
  }

  /** Closes the connection (a second close is harmless). */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** The socket path in a shim's `address` file (`unix:///run/...`), as containerd sees it. */
export function socketOfAddress(address: string): string {
  const a = address.trim();
  if (!a.startsWith("unix://")) throw new Error(`shim address: not unix://: ${a.slice(0, 60)}`);
  return a.slice("unix://".length);
}
