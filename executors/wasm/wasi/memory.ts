/**
 * Typed access to the guest's linear memory (the buffer changes when memory grows). A pointer
 * that is out of bounds or misaligned for its type traps, as the WASI pointer rules require
 * (not EFAULT): the call never returns to the guest.
 */
import { WasiError } from "./errno.ts";
import { E } from "./types.ts";

/** Ends the guest: a trap raised by the host on the guest's behalf. */
export function trap(message: string): never {
  throw new WebAssembly.RuntimeError(message);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The guest memory, re-viewed whenever it has grown. */
export class GuestMemory {
  #memory: WebAssembly.Memory | undefined;
  #buffer: ArrayBuffer | undefined;
  #view: DataView | undefined;
  #bytes: Uint8Array | undefined;

  /** Binds the guest's exported memory (after instantiation). */
  bind(memory: WebAssembly.Memory): void {
    this.#memory = memory;
  }

  #refresh(): void {
    const buffer = this.#memory?.buffer as ArrayBuffer | undefined;
    if (buffer === undefined) throw new WasiError(E.FAULT);
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#view = new DataView(buffer);
      this.#bytes = new Uint8Array(buffer);
    }
  }

  /** The whole memory as a DataView. */
  get view(): DataView {
    this.#refresh();
    return this.#view!;
  }

  /** The whole memory as bytes. */
  get bytes(): Uint8Array {
    this.#refresh();
    return this.#bytes!;
  }

  /** A view of [ptr, ptr+len); traps when it is not inside the memory. */
  slice(ptr: number, len: number): Uint8Array {
    const bytes = this.bytes;
    if (ptr < 0 || len < 0 || ptr + len > bytes.length) {
      trap(`a WASI call was given ${len} bytes at ${ptr}, outside memory (${bytes.length} bytes)`);
    }
    return bytes.subarray(ptr, ptr + len);
  }

  /** The DataView for a value of `size` bytes at ptr, after the bounds and alignment checks. */
  #at(ptr: number, size: number): DataView {
    const view = this.view;
    if (ptr % size !== 0) {
      trap(`a WASI call was given a misaligned pointer ${ptr} (${size}-byte value)`);
    }
    if (ptr + size > view.byteLength) {
      trap(`a WASI call was given pointer ${ptr}, outside memory (${view.byteLength} bytes)`);
    }
    return view;
  }

  u8(ptr: number): number {
    return this.#at(ptr, 1).getUint8(ptr);
  }
  u16(ptr: number): number {
    return this.#at(ptr, 2).getUint16(ptr, true);
  }
  u32(ptr: number): number {
    return this.#at(ptr, 4).getUint32(ptr, true);
  }
  u64(ptr: number): bigint {
    return this.#at(ptr, 8).getBigUint64(ptr, true);
  }
  setU8(ptr: number, v: number): void {
    this.#at(ptr, 1).setUint8(ptr, v);
  }
  setU16(ptr: number, v: number): void {
    this.#at(ptr, 2).setUint16(ptr, v, true);
  }
  setU32(ptr: number, v: number): void {
    this.#at(ptr, 4).setUint32(ptr, v, true);
  }
  setU64(ptr: number, v: bigint): void {
    this.#at(ptr, 8).setBigUint64(ptr, v, true);
  }

  /** A UTF-8 string from guest memory (EILSEQ when it is not valid UTF-8). */
  string(ptr: number, len: number): string {
    try {
      return decoder.decode(this.slice(ptr, len));
    } catch (err) {
      if (err instanceof WasiError) throw err;
      throw new WasiError(E.ILSEQ);
    }
  }

  /** Writes bytes at ptr. */
  write(ptr: number, data: Uint8Array): void {
    this.slice(ptr, data.length).set(data);
  }

  /** The buffers an iovec array names: [{ptr, len}] as views into memory. */
  iovecs(ptr: number, count: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const base = ptr + i * 8;
      out.push(this.slice(this.u32(base), this.u32(base + 4)));
    }
    return out;
  }
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}
