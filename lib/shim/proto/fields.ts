/** Short constructors for schema fields, so message definitions read like their .proto. */
import type { Field, Schema } from "./wire.ts";

/** A message schema named by its full proto name. */
export function message<T>(name: string, fields: Field[]): Schema<T> {
  return { name, fields };
}

/** `string name = no;` */
export const str = (no: number, name: string): Field => ({ no, name, type: "string" });
/** `bytes name = no;` */
export const bytes = (no: number, name: string): Field => ({ no, name, type: "bytes" });
/** `bool name = no;` */
export const bool = (no: number, name: string): Field => ({ no, name, type: "bool" });
/** `uint32 name = no;` */
export const u32 = (no: number, name: string): Field => ({ no, name, type: "uint32" });
/** `int32 name = no;` */
export const i32 = (no: number, name: string): Field => ({ no, name, type: "int32" });
/** `uint64 name = no;` */
export const u64 = (no: number, name: string): Field => ({ no, name, type: "uint64" });
/** `int64 name = no;` */
export const i64 = (no: number, name: string): Field => ({ no, name, type: "int64" });
/** An enum field. */
export const enm = (no: number, name: string): Field => ({ no, name, type: "enum" });
/** `map<string, string> name = no;` */
export const map = (no: number, name: string): Field => ({ no, name, type: "map" });
/** A sub-message field. */
export const msg = (no: number, name: string, of: () => Schema<unknown>): Field => ({
  no,
  name,
  type: "message",
  message: of,
});
/** `repeated` of any other field. */
export const rep = (f: Field): Field => ({ ...f, repeated: true });
