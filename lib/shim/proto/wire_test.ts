import assert from "node:assert/strict";
import { decode, encode, ProtoError, type Schema } from "./wire.ts";
import {
  CPUUsage,
  CreateTaskRequest,
  KillRequest,
  StateRequest,
  Status,
  Timestamp,
  TtrpcRequest,
  TtrpcResponse,
  UpdateTaskRequest,
} from "./messages.ts";

const hex = (s: string) => new Uint8Array(s.trim().split(/\s+/).map((b) => parseInt(b, 16)));
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0).toString(16)).join(" ");

// A CreateTaskRequest written out byte by byte from the encoding rules (tag = no << 3 | wire).
const CREATE_BYTES = [
  "0a 02",
  ascii("c1"), // 1 id: "c1"
  "12 02",
  ascii("/b"), // 2 bundle: "/b"
  // 3 rootfs: Mount{type "overlay", source "o", options ["ro"]}, 2+7 + 2+1 + 2+2 = 16 bytes
  "1a 10 0a 07",
  ascii("overlay"),
  "12 01",
  ascii("o"),
  "22 02",
  ascii("ro"),
  "20 01", // 4 terminal: true
  "52 03 0a 01 78", // 10 options: Any{type_url "x"}
].join(" ");

Deno.test("wire: a hand-encoded CreateTaskRequest decodes, and encodes back to the same bytes", () => {
  const want: CreateTaskRequest = {
    id: "c1",
    bundle: "/b",
    rootfs: [{ type: "overlay", source: "o", target: "", options: ["ro"] }],
    terminal: true,
    stdin: "",
    stdout: "",
    stderr: "",
    checkpoint: "",
    parentCheckpoint: "",
    options: { typeUrl: "x", value: new Uint8Array() },
  };
  assert.deepEqual(decode(CreateTaskRequest, hex(CREATE_BYTES)), want);
  assert.deepEqual(encode(CreateTaskRequest, want), hex(CREATE_BYTES));
});

Deno.test("wire: unknown fields of every wire type are skipped", () => {
  const unknown = [
    "98 06 96 01", // field 99, varint 150
    "7d 01 02 03 04", // field 15, fixed32
    "71 01 02 03 04 05 06 07 08", // field 14, fixed64
    "6a 02 aa bb", // field 13, length-delimited
  ].join(" ");
  const got = decode(CreateTaskRequest, hex(unknown + " " + CREATE_BYTES + " " + unknown));
  assert.equal(got.id, "c1");
  assert.deepEqual(got.rootfs[0]?.options, ["ro"]);
  assert.equal(got.terminal, true);
});

Deno.test("wire: Timestamp, negative int32 and int64 as 10-byte varints", () => {
  // 1700000000 = 0 + 98*128 + 79*128^2 + 42*128^3 + 6*128^4
  const ts = hex("08 80 e2 cf aa 06 10 05");
  assert.deepEqual(decode(Timestamp, ts), { seconds: 1700000000n, nanos: 5 });
  assert.deepEqual(encode(Timestamp, { seconds: 1700000000n, nanos: 5 }), ts);
  const neg = hex("08 ff ff ff ff ff ff ff ff ff 01 10 ff ff ff ff ff ff ff ff ff 01");
  assert.deepEqual(decode(Timestamp, neg), { seconds: -1n, nanos: -1 });
  assert.deepEqual(encode(Timestamp, { seconds: -1n, nanos: -1 }), neg);
  // A Go int32 field read from a varint keeps its low 32 bits.
  assert.deepEqual(decode(Status, hex("08 80 80 80 80 10")).code, 0);
});

Deno.test("wire: uint64 extremes and uint32 truncation", () => {
  const max = hex("08 ff ff ff ff ff ff ff ff ff 01");
  assert.deepEqual(decode(CPUUsage, max).total, (1n << 64n) - 1n);
  assert.deepEqual(encode(CPUUsage, { total: (1n << 64n) - 1n }), max);
  assert.deepEqual(encode(CPUUsage, { total: 300n }), hex("08 ac 02"));
  assert.deepEqual(encode(KillRequest, { signal: 0xffffffff }), hex("18 ff ff ff ff 0f"));
  assert.equal(decode(KillRequest, hex("18 ff ff ff ff 0f")).signal, 0xffffffff);
  assert.equal(decode(KillRequest, hex("18 81 80 80 80 10")).signal, 1, "upper bits dropped");
});

Deno.test("wire: repeated numbers are written packed and read packed, unpacked or mixed", () => {
  const packed = hex("22 04 01 02 ac 02");
  assert.deepEqual(encode(CPUUsage, { perCpu: [1n, 2n, 300n] }), packed);
  assert.deepEqual(decode(CPUUsage, packed).perCpu, [1n, 2n, 300n]);
  assert.deepEqual(decode(CPUUsage, hex("20 01 20 02 20 ac 02")).perCpu, [1n, 2n, 300n]);
  assert.deepEqual(decode(CPUUsage, hex("20 07 22 02 08 09 20 0a")).perCpu, [7n, 8n, 9n, 10n]);
  assert.deepEqual(decode(CPUUsage, hex("22 00")).perCpu, [], "an empty packed run");
});

Deno.test("wire: maps, defaults and presence", () => {
  const bytes = hex("0a 01 69 1a 06 0a 01 61 12 01 62 1a 03 0a 01 63");
  assert.deepEqual(decode(UpdateTaskRequest, bytes), {
    id: "i",
    annotations: { a: "b", c: "" },
  });
  assert.deepEqual(encode(UpdateTaskRequest, { id: "i", annotations: { a: "b", c: "" } }), bytes);
  // Default scalars are not written; a present sub-message is, even when empty.
  assert.deepEqual(encode(KillRequest, { id: "", signal: 0, all: false }), new Uint8Array());
  assert.deepEqual(encode(TtrpcResponse, { status: { code: 0 } }), hex("0a 00"));
  const res = decode(TtrpcResponse, hex("0a 00"));
  assert.deepEqual(res.status, { code: 0, message: "", details: [] });
  assert.equal(decode(TtrpcResponse, new Uint8Array()).status, undefined, "absent sub-message");
  const empty = decode(TtrpcRequest, new Uint8Array());
  assert.deepEqual(empty, {
    service: "",
    method: "",
    payload: new Uint8Array(),
    timeoutNano: 0n,
    metadata: [],
  });
});

Deno.test("wire: a repeated occurrence of a sub-message merges into the first", () => {
  // status{code 5} then status{message "m"}: proto merges both into one Status.
  const st = decode(TtrpcResponse, hex("0a 02 08 05 0a 03 12 01 6d")).status;
  assert.deepEqual(st, { code: 5, message: "m", details: [] });
});

Deno.test("wire: strings are UTF-8 both ways", () => {
  const got = decode(StateRequest, encode(StateRequest, { id: "ü€😀" }));
  assert.equal(got.id, "ü€😀");
  assert.deepEqual(encode(StateRequest, { id: "é" }), hex("0a 02 c3 a9"));
});

const MALFORMED: [string, string, RegExp][] = [
  ["truncated varint", "18 80", /truncated varint/],
  ["truncated tag", "80", /truncated varint/],
  ["length past the end", "0a 05 61", /length past the end/],
  ["huge length", "0a ff ff ff ff 0f", /length past the end/],
  ["group wire type 3", "4b", /bad wire type 3/],
  ["wire type 7", "4f", /bad wire type 7/],
  ["varint longer than 10 bytes", "20 80 80 80 80 80 80 80 80 80 80 01", /varint/],
  ["varint overflows 64 bits", "20 ff ff ff ff ff ff ff ff ff 02", /overflows/],
  ["field number 0", "00 00", /bad field number/],
  ["string field sent as varint", "08 01", /wrong wire type 0/],
  ["number field sent as fixed32", "1d 00 00 00 00", /wrong wire type 5/],
  ["truncated fixed64", "71 01 02", /truncated fixed64/],
  ["truncated fixed32", "7d 01", /truncated fixed32/],
];

Deno.test("wire: malformed input is rejected with a one-line ProtoError", () => {
  for (const [what, bytes, re] of MALFORMED) {
    assert.throws(() => decode(KillRequest, hex(bytes)), (e: unknown) => {
      assert.ok(e instanceof ProtoError, `${what}: ${e}`);
      assert.match(e.message, re, what);
      assert.ok(!e.message.includes("\n"), what);
      return true;
    }, what);
  }
  // A packed run whose last varint crosses the end of its record.
  assert.throws(() => decode(CPUUsage, hex("22 01 80 01")), /packed varint past its record/);
  // A sub-message whose field runs past the sub-message's own length.
  assert.throws(() => decode(CreateTaskRequest, hex("1a 02 0a 05 61 62 63 64 65")), ProtoError);
});

Deno.test("wire: encode refuses values that do not fit their field", () => {
  assert.throws(() => encode(KillRequest, { signal: -1 }), /KillRequest\.signal: not a uint32/);
  assert.throws(() => encode(KillRequest, { signal: 2 ** 32 }), /not a uint32/);
  assert.throws(() => encode(KillRequest, { signal: 1.5 }), /not a uint32/);
  assert.throws(() => encode(Status, { code: 2 ** 31 }), /not an int32/);
  assert.throws(() => encode(CPUUsage, { total: -1n }), /out of range/);
  assert.throws(() => encode(CPUUsage, { total: 1n << 64n }), /out of range/);
  assert.throws(() => encode(Timestamp, { seconds: 1n << 63n }), /out of range/);
  // deno-lint-ignore no-explicit-any
  const loose = (s: Schema<any>, v: unknown) => () => encode(s, v as never);
  assert.throws(loose(StateRequest, { id: 5 }), /expected a string/);
  assert.throws(loose(CPUUsage, { perCpu: 5 }), /expected an array/);
  assert.throws(loose(TtrpcRequest, { payload: "x" }), /expected a Uint8Array/);
  assert.throws(loose(KillRequest, { all: 1 }), /expected a boolean/);
  assert.deepEqual(encode(CPUUsage, { total: 300 as unknown as bigint }), hex("08 ac 02"));
});

/** A small deterministic PRNG (xorshift32), so a failure reproduces. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

Deno.test("wire: random and mutated input either decodes or throws ProtoError, quickly", () => {
  const rand = prng(0xdecaf);
  const valid = hex(CREATE_BYTES);
  const schemas: Schema<unknown>[] = [CreateTaskRequest, TtrpcRequest, CPUUsage, UpdateTaskRequest];
  const started = performance.now();
  for (let i = 0; i < 20_000; i++) {
    let bytes: Uint8Array;
    if (i % 2 === 0) {
      bytes = new Uint8Array(rand() % 64);
      for (let j = 0; j < bytes.length; j++) bytes[j] = rand() & 0xff;
    } else {
      bytes = valid.slice(0, rand() % (valid.length + 1));
      for (let k = rand() % 4; k > 0 && bytes.length > 0; k--) {
        bytes[rand() % bytes.length] = rand() & 0xff;
      }
    }
    for (const s of schemas) {
      try {
        decode(s, bytes);
      } catch (e) {
        if (!(e instanceof ProtoError)) throw new Error(`input ${bytes.join(",")}: ${e}`);
      }
    }
  }
  assert.ok(performance.now() - started < 10_000);
});
