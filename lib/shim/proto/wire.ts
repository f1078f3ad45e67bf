/**
 * A small schema-driven protobuf (proto3) wire codec: just what the containerd shim's ttrpc
 * messages need (varint, 64-bit and 32-bit fixed skipping, length-delimited), no reflection,
 * no code generation, no npm. Schemas are plain data (see messages.ts); encode writes proto3
 * (defaults omitted, numeric repeated fields packed), decode accepts packed and unpacked
 * repeated fields, skips unknown fields and rejects malformed input with a ProtoError.
 */

/** The scalar field types the codec knows. */
export type Scalar = "string" | "bytes" | "bool" | "uint32" | "int32" | "uint64" | "int64" | "enum";

/** One field of a message: its number, camelCase name and type. */
export interface Field {
  no: number;
  name: string;
  type: Scalar | "message" | "map";
  repeated?: boolean;
  /** The sub-message's schema (a thunk, so schemas may refer to each other in any order). */
  // deno-lint-ignore no-explicit-any
  message?: () => Schema<any>;
}

/** A message schema; `_t` only carries the TypeScript type. */
export interface Schema<T> {
  name: string;
  fields: Field[];
  _t?: T;
}

/** What encode accepts: any field may be left out, at every depth. */
export type MessageInit<T> = T extends Uint8Array | string | number | bigint | boolean ? T
  : T extends (infer U)[] ? MessageInit<U>[]
  : T extends object ? { [K in keyof T]?: MessageInit<T[K]> }
  : T;

/** Malformed protobuf input, or a value that does not fit its field. */
export class ProtoError extends Error {
  override name = "ProtoError";
}

// Wire types (groups, 3 and 4, are not supported: proto3 never writes them).
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/** Nesting bound: our schemas are a few levels deep; this stops stack exhaustion by hostile input. */
const MAX_DEPTH = 64;

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Schema plans: per schema, fields by number and the default object, computed once.

interface Plan {
  byNo: Map<number, Field>;
  fields: Field[];
}

const plans = new WeakMap<Schema<unknown>, Plan>();

function plan(schema: Schema<unknown>): Plan {
  let p = plans.get(schema);
  if (p === undefined) {
    const byNo = new Map<number, Field>();
    for (const f of schema.fields) byNo.set(f.no, f);
    p = { byNo, fields: schema.fields };
    plans.set(schema, p);
  }
  return p;
}

function isNumeric(t: Field["type"]): boolean {
  return t !== "string" && t !== "bytes" && t !== "message" && t !== "map";
}

function defaultOf(f: Field): unknown {
  if (f.repeated) return [];
  switch (f.type) {
    case "string":
      return "";
    case "bytes":
      return new Uint8Array();
    case "bool":
      return false;
    case "uint64":
    case "int64":
      return 0n;
    case "map":
      return {};
    case "message":
      return undefined;
    default:
      return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

class Writer {
  buf = new Uint8Array(64);
  len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** A varint of a non-negative number below 2^32. */
  varint32(v: number): void {
    this.ensure(5);
    while (v > 0x7f) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.len++] = v;
  }

  /** A varint of a 64-bit value given as its low and high 32-bit halves (unsigned). */
  varint64(lo: number, hi: number): void {
    if (hi === 0) return this.varint32(lo >>> 0);
    this.ensure(10);
    while (hi !== 0 || lo > 0x7f) {
      this.buf[this.len++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.len++] = lo;
  }

  tag(no: number, wire: number): void {
    this.varint32(((no << 3) | wire) >>> 0);
  }

  bytes(b: Uint8Array): void {
    this.varint32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function fieldError(schema: Schema<unknown>, f: Field, what: string): ProtoError {
  return new ProtoError(`encode ${schema.name}.${f.name}: ${what}`);
}

/** Writes one numeric value (no tag) as a varint; checks the range. */
function writeNumber(w: Writer, schema: Schema<unknown>, f: Field, v: unknown): void {
  switch (f.type) {
    case "bool":
      if (typeof v !== "boolean") {
        throw fieldError(schema, f, `expected a boolean, got ${typeof v}`);
      }
      return w.varint32(v ? 1 : 0);
    case "uint32":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw fieldError(schema, f, `not a uint32: ${String(v).slice(0, 32)}`);
      }
      return w.varint32(v);
    case "int32":
    case "enum":
      if (typeof v !== "number" || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
        throw fieldError(schema, f, `not an int32: ${String(v).slice(0, 32)}`);
      }
      // Negative int32 values are sign-extended to 64 bits (10 bytes), as every proto encoder does.
      return v < 0 ? w.varint64(v >>> 0, 0xffffffff) : w.varint32(v);
    case "uint64":
    case "int64": {
      let b: bigint;
      if (typeof v === "bigint") b = v;
      else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
      else throw fieldError(schema, f, `not a 64-bit integer: ${String(v).slice(0, 32)}`);
      const signed = f.type === "int64";
      if (
        signed ? b < -(1n << 63n) || b >= 1n << 63n : b < 0n || b >= 1n << 64n
      ) throw fieldError(schema, f, `out of range: ${String(b).slice(0, 32)}`);
      const u = BigInt.asUintN(64, b);
      return w.varint64(Number(u & 0xffffffffn), Number(u >> 32n));
    }
  }
}

function isDefaultScalar(f: Field, v: unknown): boolean {
  switch (f.type) {
    case "string":
      return v === "";
    case "bytes":
      return v instanceof Uint8Array && v.length === 0;
    case "bool":
      return v === false;
    case "uint64":
    case "int64":
      return v === 0n || v === 0;
    default:
      return v === 0;
  }
}

function writeString(w: Writer, schema: Schema<unknown>, f: Field, v: unknown): void {
  if (typeof v !== "string") throw fieldError(schema, f, `expected a string, got ${typeof v}`);
  w.bytes(utf8Encoder.encode(v));
}

function writeBytes(w: Writer, schema: Schema<unknown>, f: Field, v: unknown): void {
  if (!(v instanceof Uint8Array)) throw fieldError(schema, f, "expected a Uint8Array");
  w.bytes(v);
}

function writeMessage(w: Writer, f: Field, v: unknown, depth: number): void {
  const sub = new Writer();
  encodeInto(sub, f.message!(), v as Record<string, unknown>, depth + 1);
  w.bytes(sub.buf.subarray(0, sub.len));
}

function encodeInto(
  w: Writer,
  schema: Schema<unknown>,
  value: Record<string, unknown>,
  depth: number,
): void {
  if (depth > MAX_DEPTH) throw new ProtoError(`encode ${schema.name}: nested too deeply`);
  if (typeof value !== "object" || value === null) {
    throw new ProtoError(`encode ${schema.name}: expected an object, got ${typeof value}`);
  }
  for (const f of schema.fields) {
    const v = value[f.name];
    if (v === undefined || v === null) continue;
    if (f.type === "map") {
      if (typeof v !== "object") throw fieldError(schema, f, "expected a string record");
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        if (val === undefined) continue;
        const entry = new Writer();
        if (k !== "") {
          entry.tag(1, LEN);
          entry.bytes(utf8Encoder.encode(k));
        }
        if (val !== "") {
          entry.tag(2, LEN);
          writeString(entry, schema, f, val);
        }
        w.tag(f.no, LEN);
        w.bytes(entry.buf.subarray(0, entry.len));
      }
      continue;
    }
    if (f.repeated) {
      if (!Array.isArray(v)) throw fieldError(schema, f, "expected an array");
      if (v.length === 0) continue;
      if (isNumeric(f.type)) {
        const packed = new Writer();
        for (const x of v) writeNumber(packed, schema, f, x);
        w.tag(f.no, LEN);
        w.bytes(packed.buf.subarray(0, packed.len));
      } else {
        for (const x of v) {
          w.tag(f.no, LEN);
          if (f.type === "string") writeString(w, schema, f, x);
          else if (f.type === "bytes") writeBytes(w, schema, f, x);
          else writeMessage(w, f, x, depth);
        }
      }
      continue;
    }
    if (f.type === "message") {
      w.tag(f.no, LEN);
      writeMessage(w, f, v, depth);
      continue;
    }
    if (isDefaultScalar(f, v)) continue;
    if (f.type === "string") {
      w.tag(f.no, LEN);
      writeString(w, schema, f, v);
    } else if (f.type === "bytes") {
      w.tag(f.no, LEN);
      writeBytes(w, schema, f, v);
    } else {
      w.tag(f.no, VARINT);
      writeNumber(w, schema, f, v);
    }
  }
}

/** Encodes `value` as `schema` in proto3 binary form: default values are not written. */
export function encode<T>(schema: Schema<T>, value: MessageInit<T>): Uint8Array {
  const w = new Writer();
  encodeInto(w, schema as Schema<unknown>, value as Record<string, unknown>, 0);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly schemaName: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new ProtoError(`decode ${this.schemaName}: ${what} at byte ${this.pos}`);
  }

  /** Reads a varint into [lo, hi] 32-bit halves; at most 10 bytes, the 10th at most 1. */
  varint(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("truncated varint");
      const b = this.buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else {
        if (i === 9 && b > 1) this.fail("varint overflows 64 bits");
        hi |= (b & 0x7f) << (7 * i - 32);
      }
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    this.fail("varint longer than 10 bytes");
  }

  /** A length-delimited field's extent, checked against the end. */
  length(): number {
    const [lo, hi] = this.varint();
    if (hi !== 0 || lo > this.end - this.pos) this.fail("length past the end");
    return lo;
  }

  skip(wire: number): void {
    switch (wire) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        if (this.end - this.pos < 8) this.fail("truncated fixed64");
        this.pos += 8;
        return;
      case LEN:
        this.pos += this.length();
        return;
      case FIXED32:
        if (this.end - this.pos < 4) this.fail("truncated fixed32");
        this.pos += 4;
        return;
      default:
        this.fail(`bad wire type ${wire}`);
    }
  }
}

/** Converts a varint's halves to the field's TypeScript value. */
function numberValue(type: Field["type"], lo: number, hi: number): unknown {
  switch (type) {
    case "bool":
      return lo !== 0 || hi !== 0;
    case "uint32":
      return lo;
    case "int32":
    case "enum":
      return lo | 0;
    case "uint64":
      return (BigInt(hi) << 32n) | BigInt(lo);
    case "int64":
      return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }
  return undefined;
}

function newMessage(p: Plan): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const f of p.fields) {
    const d = defaultOf(f);
    if (d !== undefined) obj[f.name] = d;
  }
  return obj;
}

function decodeInto(
  r: Reader,
  schema: Schema<unknown>,
  obj: Record<string, unknown>,
  end: number,
  depth: number,
): void {
  if (depth > MAX_DEPTH) r.fail("nested too deeply");
  const p = plan(schema);
  while (r.pos < end) {
    const [tagLo, tagHi] = r.varint();
    const no = tagLo >>> 3;
    const wire = tagLo & 7;
    if (tagHi !== 0 || no === 0) r.fail(`bad field number in tag ${tagLo}`);
    const f = p.byNo.get(no);
    if (f === undefined) {
      r.skip(wire);
      continue;
    }
    const numeric = isNumeric(f.type);
    if (numeric && f.repeated && wire === LEN) {
      // Packed: a run of varints inside one length-delimited record.
      const len = r.length();
      const stop = r.pos + len;
      const list = obj[f.name] as unknown[];
      while (r.pos < stop) {
        const [lo, hi] = r.varint();
        if (r.pos > stop) r.fail("packed varint past its record");
        list.push(numberValue(f.type, lo, hi));
      }
      continue;
    }
    if (numeric) {
      if (wire !== VARINT) r.fail(`wrong wire type ${wire} for ${schema.name}.${f.name}`);
      const [lo, hi] = r.varint();
      const v = numberValue(f.type, lo, hi);
      if (f.repeated) (obj[f.name] as unknown[]).push(v);
      else obj[f.name] = v;
      continue;
    }
    if (wire !== LEN) r.fail(`wrong wire type ${wire} for ${schema.name}.${f.name}`);
    const len = r.length();
    const start = r.pos;
    const stop = start + len;
    let v: unknown;
    switch (f.type) {
      case "string":
        v = utf8Decoder.decode(r.buf.subarray(start, stop));
        r.pos = stop;
        break;
      case "bytes":
        v = r.buf.slice(start, stop);
        r.pos = stop;
        break;
      case "map": {
        const entry = { key: "", value: "" };
        decodeInto(r, MAP_ENTRY as Schema<unknown>, entry, stop, depth + 1);
        (obj[f.name] as Record<string, string>)[entry.key] = entry.value;
        continue;
      }
      case "message": {
        const sub = f.message!() as Schema<unknown>;
        // A repeated singular sub-message merges into the one already read (proto semantics).
        const existing = f.repeated
          ? undefined
          : obj[f.name] as Record<string, unknown> | undefined;
        const target = existing ?? newMessage(plan(sub));
        decodeInto(r, sub, target, stop, depth + 1);
        v = target;
        break;
      }
    }
    if (f.repeated) (obj[f.name] as unknown[]).push(v);
    else obj[f.name] = v;
  }
  if (r.pos !== end) r.fail("field runs past its message");
}

/** The entry message of a `map<string, string>` field. */
const MAP_ENTRY: Schema<{ key: string; value: string }> = {
  name: "MapEntry",
  fields: [{ no: 1, name: "key", type: "string" }, { no: 2, name: "value", type: "string" }],
};

/**
 * Decodes `bytes` as `schema`. Missing fields get their defaults ("" / 0 / 0n / false / empty
 * bytes / [] / {}); missing sub-messages stay undefined. Throws ProtoError on malformed input.
 */
export function decode<T>(schema: Schema<T>, bytes: Uint8Array): T {
  const s = schema as Schema<unknown>;
  const r = new Reader(bytes, s.name);
  const obj = newMessage(plan(s));
  decodeInto(r, s, obj, bytes.length, 0);
  return obj as T;
}
