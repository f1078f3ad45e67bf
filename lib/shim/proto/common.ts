/** Messages every other schema builds on: google.protobuf's Any, Timestamp and Empty,
 * google.rpc.Status and containerd.types.Mount, with small helpers for Any and Timestamp. */
import { bytes, i32, i64, message, msg, rep, str } from "./fields.ts";
import { encode, type MessageInit, type Schema } from "./wire.ts";

// --- google.protobuf / google.rpc -----------------------------------------------------------

/** google.protobuf.Any: gogo's typeurl writes the bare message name as type_url. */
export interface Any {
  typeUrl: string;
  value: Uint8Array;
}
export const Any: Schema<Any> = message("google.protobuf.Any", [
  str(1, "typeUrl"),
  bytes(2, "value"),
]);

/** google.protobuf.Timestamp. */
export interface Timestamp {
  seconds: bigint;
  nanos: number;
}
export const Timestamp: Schema<Timestamp> = message("google.protobuf.Timestamp", [
  i64(1, "seconds"),
  i32(2, "nanos"),
]);

/** google.protobuf.Empty. */
export type Empty = Record<never, never>;
export const Empty: Schema<Empty> = message("google.protobuf.Empty", []);

/** google.rpc.Status: a ttrpc error. */
export interface Status {
  code: number;
  message: string;
  details: Any[];
}
export const Status: Schema<Status> = message("google.rpc.Status", [
  i32(1, "code"),
  str(2, "message"),
  rep(msg(3, "details", () => Any)),
]);

/** containerd.types.Mount. */
export interface Mount {
  type: string;
  source: string;
  target: string;
  options: string[];
}
export const Mount: Schema<Mount> = message("containerd.types.Mount", [
  str(1, "type"),
  str(2, "source"),
  str(3, "target"),
  rep(str(4, "options")),
]);

/** Packs a message into an Any with the given type URL. */
export function toAny<T>(typeUrl: string, schema: Schema<T>, value: MessageInit<T>): Any {
  return { typeUrl, value: encode(schema, value) };
}

/** A Timestamp from a Date, or from now (with the sub-millisecond part performance.now gives). */
export function toTimestamp(at?: Date): Timestamp {
  const ms = at === undefined ? performance.timeOrigin + performance.now() : at.getTime();
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6));
  return { seconds: BigInt(seconds), nanos };
}
