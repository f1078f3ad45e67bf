/** args_* and environ_*: the guest's argv and environ, exactly as the config gives them. */
import type { GuestMemory } from "./memory.ts";
import { utf8 } from "./memory.ts";
import { E } from "./types.ts";

/** NUL-terminated UTF-8 strings laid out for the *_get calls. */
class StringList {
  readonly encoded: Uint8Array[];
  readonly size: number;
  constructor(items: readonly string[]) {
    this.encoded = items.map((s) => {
      const b = utf8(s);
      const z = new Uint8Array(b.length + 1);
      z.set(b);
      return z;
    });
    this.size = this.encoded.reduce((n, b) => n + b.length, 0);
  }

  sizes(mem: GuestMemory, countPtr: number, sizePtr: number): number {
    mem.setU32(countPtr, this.encoded.length);
    mem.setU32(sizePtr, this.size);
    return E.SUCCESS;
  }

  get(mem: GuestMemory, ptrs: number, buf: number): number {
    let off = buf;
    this.encoded.forEach((b, i) => {
      mem.setU32(ptrs + i * 4, off);
      mem.write(off, b);
      off += b.length;
    });
    return E.SUCCESS;
  }
}

/** The four args/environ functions. */
export class ArgsEnv {
  readonly #args: StringList;
  readonly #env: StringList;

  constructor(readonly mem: GuestMemory, args: readonly string[], env: readonly string[]) {
    this.#args = new StringList(args);
    this.#env = new StringList(env);
  }

  args_sizes_get(countPtr: number, sizePtr: number): number {
    return this.#args.sizes(this.mem, countPtr, sizePtr);
  }
  args_get(ptrs: number, buf: number): number {
    return this.#args.get(this.mem, ptrs, buf);
  }
  environ_sizes_get(countPtr: number, sizePtr: number): number {
    return this.#env.sizes(this.mem, countPtr, sizePtr);
  }
  environ_get(ptrs: number, buf: number): number {
    return this.#env.get(this.mem, ptrs, buf);
  }
}
