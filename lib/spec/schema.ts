/**
 * A small schema language for parsing unknown JSON into typed values. Each parser records
 * every problem it finds with the JSON path it concerns (`process.args[0]`) and keeps going,
 * so one run reports all structural problems. TypeScript types are inferred from the schemas,
 * so the config types and their parser cannot drift apart. Unknown object fields are kept.
 */
import { quote, type SpecIssue } from "../errors.ts";

/** A 64-bit integer: a number when it is exactly representable, a bigint otherwise. */
export type Int64 = number | bigint;

/** Parses one JSON value at `path`, pushing issues; undefined means "invalid". */
export interface Parser<T> {
  parse(value: unknown, path: string, issues: SpecIssue[]): T | undefined;
  /** What the value must be, for messages ("a string", "an object"). */
  readonly expected: string;
}

/** The type a parser produces. */
export type Infer<P> = P extends Parser<infer T> ? T : never;

/** Describes a JSON value for messages: its type, and short scalars verbatim. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return value.length <= 40 ? `the string ${JSON.stringify(value)}` : "a string";
    case "number":
    case "bigint":
      return `the number ${value}`;
    case "boolean":
      return `${value}`;
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

function mismatch(path: string, expected: string, value: unknown): SpecIssue {
  return { path, message: `must be ${expected}, not ${describe(value)}` };
}

/** Any string. */
export function str(): Parser<string> {
  return {
    expected: "a string",
    parse(v, path, issues) {
      if (typeof v === "string") return v;
      issues.push(mismatch(path, this.expected, v));
      return undefined;
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<const T extends string>(...values: readonly T[]): Parser<T> {
  const list = values.map((v) => JSON.stringify(v)).join(", ");
  return {
    expected: `one of ${list}`,
    parse(v, path, issues) {
      if (typeof v === "string" && (values as readonly string[]).includes(v)) return v as T;
      issues.push(mismatch(path, this.expected, v));
      return undefined;
    },
  };
}

/** A boolean. */
export function bool(): Parser<boolean> {
  return {
    expected: "true or false",
    parse(v, path, issues) {
      if (typeof v === "boolean") return v;
      issues.push(mismatch(path, this.expected, v));
      return undefined;
    },
  };
}

/** Integer kinds with their ranges, as the runtime-spec schema names them. */
const INT_RANGES = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
} as const;

/** Integer kinds that fit a JS number exactly. */
export type SmallIntKind = "int32" | "uint16" | "uint32";

function intParser<T>(
  kind: keyof typeof INT_RANGES,
  convert: (v: number | bigint) => T,
): Parser<T> {
  const [min, max] = INT_RANGES[kind];
  return {
    expected: `an integer from ${min} to ${max}`,
    parse(v, path, issues) {
      const isInt = (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
      if (isInt && BigInt(v as number | bigint) >= min && BigInt(v as number | bigint) <= max) {
        return convert(v as number | bigint);
      }
      issues.push(mismatch(path, this.expected, v));
      return undefined;
    },
  };
}

/** A 16- or 32-bit integer (always a number). */
export function int(kind: SmallIntKind): Parser<number> {
  return intParser(kind, (v) => Number(v));
}

/** A 64-bit integer: exact, as a bigint when beyond Number.MAX_SAFE_INTEGER. */
export function int64(kind: "int64" | "uint64"): Parser<Int64> {
  return intParser(kind, (v) => v);
}

/** An array whose every element is parsed by `item`. */
export function arr<T>(item: Parser<T>): Parser<T[]> {
  return {
    expected: "an array",
    parse(v, path, issues) {
      if (!Array.isArray(v)) {
        issues.push(mismatch(path, this.expected, v));
        return undefined;
      }
      const out: T[] = [];
      let ok = true;
      v.forEach((el, i) => {
        const r = item.parse(el, `${path}[${i}]`, issues);
        if (r === undefined) ok = false;
        else out.push(r);
      });
      return ok ? out : undefined;
    },
  };
}

/** A JSON object used as a map: string keys (non-empty) to values parsed by `value`. */
export function map<T>(value: Parser<T>): Parser<Record<string, T>> {
  return {
    expected: "an object",
    parse(v, path, issues) {
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        issues.push(mismatch(path, this.expected, v));
        return undefined;
      }
      const out: Record<string, T> = {};
      let ok = true;
      for (const [k, el] of Object.entries(v)) {
        const at = `${path}[${quote(k)}]`;
        if (k === "") {
          issues.push({ path: at, message: "keys must not be empty" });
          ok = false;
          continue;
        }
        const r = value.parse(el, at, issues);
        if (r === undefined) ok = false;
        else out[k] = r;
      }
      return ok ? out : undefined;
    },
  };
}

/** A field of an object schema: its parser and whether it must be present. */
export interface Field<T, R extends boolean> {
  parser: Parser<T>;
  required: R;
}

/** A field that must be present. */
export function req<T>(parser: Parser<T>): Field<T, true> {
  return { parser, required: true };
}

/** A field that may be absent (JSON null counts as absent, as Go decoders treat it). */
export function opt<T>(parser: Parser<T>): Field<T, false> {
  return { parser, required: false };
}

// deno-lint-ignore no-explicit-any
type Shape = Record<string, Field<any, boolean>>;

type Simplify<T> = { [K in keyof T]: T[K] } & unknown;

/** The object type an object schema produces. */
export type InferShape<S extends Shape> = Simplify<
  & { [K in keyof S as S[K]["required"] extends true ? K : never]: Infer<S[K]["parser"]> }
  & { [K in keyof S as S[K]["required"] extends true ? never : K]?: Infer<S[K]["parser"]> }
>;

/** An object with known fields; unknown fields are copied through untouched. */
export function obj<S extends Shape>(shape: S): Parser<InferShape<S>> & { shape: S } {
  return {
    shape,
    expected: "an object",
    parse(v, path, issues) {
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        issues.push(mismatch(path, this.expected, v));
        return undefined;
      }
      const input = v as Record<string, unknown>;
      const out: Record<string, unknown> = { ...input };
      let ok = true;
      for (const [key, field] of Object.entries(shape)) {
        const at = path === "" ? key : `${path}.${key}`;
        const value = input[key];
        if (value === undefined || value === null) {
          delete out[key];
          if (field.required) {
            issues.push({ path: at, message: "is required" });
            ok = false;
          }
          continue;
        }
        const r = field.parser.parse(value, at, issues);
        if (r === undefined) ok = false;
        else out[key] = r;
      }
      return ok ? out as InferShape<S> : undefined;
    },
  };
}

/**
 * JSON.parse that keeps integers beyond 2^53 exact (as bigint), using the reviver's access to
 * the source text: seccomp argument values and cgroup limits need all 64 bits.
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, (_key, value, context?: { source?: string }) => {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source) {
      if (/^-?\d+$/.test(context.source)) return BigInt(context.source);
    }
    return value;
  });
}
