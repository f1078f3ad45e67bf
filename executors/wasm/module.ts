/** Finding and checking a container's Wasm module. */
import { DenkiError } from "../../lib/errors.ts";
import type { Spec } from "../../lib/spec/config.ts";
import { WASI_FUNCTIONS } from "./wasi/functions.ts";
import { WASM_ANNOTATIONS } from "./annotations.ts";
import { pathOf } from "../../lib/linux/lookpath.ts";
import { Vfs } from "./wasi/vfs.ts";
import { capMemory, type GuestLimits, MemoryLimitError, WASM_PAGE } from "./limits.ts";

/** The first bytes of every Wasm module: "\0asm". */
export const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** Annotations that ask for the Wasm executor. */
export function wantsWasm(spec: Spec): boolean {
  const a = spec.annotations ?? {};
  return Object.entries(WASM_ANNOTATIONS).some(([key, value]) => a[key] === value);
}

/** The host path of a guest path inside `root`, resolved without leaving it; undefined if missing. */
function inRoot(vfs: Vfs, guest: string): string | undefined {
  try {
    const r = vfs.resolve("/", guest.replace(/^\/+/, "") || ".", true);
    return r.stat?.isFile ? r.host : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The host path of the module `args[0]` names, inside `root` (the container root, "/" once
 * switched): a name with a slash is taken relative to process.cwd, others are looked up in
 * the PATH of process.env. Symlinks are resolved inside the root, never on the host.
 * Undefined when there is no such file.
 */
export function modulePath(spec: Spec, root: string): string | undefined {
  const name = spec.process?.args?.[0] ?? "";
  const vfs = new Vfs([{ guest: "/", host: root, readonly: true }]);
  if (name.includes("/")) {
    return inRoot(vfs, name.startsWith("/") ? name : `${spec.process?.cwd ?? "/"}/${name}`);
  }
  for (const dir of pathOf(spec.process?.env ?? []).split(":")) {
    const p = inRoot(vfs, `${dir}/${name}`);
    if (p !== undefined) return p;
  }
  return undefined;
}

/** True when the file at `path` starts with the Wasm magic bytes. */
export function hasWasmMagic(path: string): boolean {
  try {
    const f = Deno.openSync(path, { read: true });
    try {
      const head = new Uint8Array(4);
      const n = f.readSync(head);
      return n === 4 && WASM_MAGIC.every((b, i) => head[i] === b);
    } finally {
      f.close();
    }
  } catch {
    return false;
  }
}

/**
 * Compiles and checks a module: WASI preview1 imports only, `_start` and `memory` exported.
 * With a memory limit (RLIMIT_AS/RLIMIT_DATA), its memories get that maximum; a module that
 * needs more to start is refused.
 */
export function checkModule(
  path: string,
  name: string,
  memory?: GuestLimits["memory"],
): WebAssembly.Module {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (err) {
    throw new DenkiError(
      `wasm module ${JSON.stringify(name)}: cannot read it: ${(err as Error).message}`,
    );
  }
  if (memory !== undefined) {
    try {
      bytes = capMemory(bytes, memory.pages);
    } catch (err) {
      if (err instanceof MemoryLimitError) {
        const size = (n: bigint) => n >= 1048576n ? `${n / 1048576n} MiB` : `${n / 1024n} KiB`;
        throw new DenkiError(
          `wasm module ${JSON.stringify(name)} needs ${
            size(err.pages * BigInt(WASM_PAGE))
          } of memory to start, more than ${memory.from} allows (${size(memory.bytes)})`,
        );
      }
      // Not a module after all: compiling it below says what is wrong.
    }
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new DenkiError(
      `wasm module ${JSON.stringify(name)} is not valid: ${(err as Error).message}`,
    );
  }
  const known = new Set<string>(WASI_FUNCTIONS);
  for (const imp of WebAssembly.Module.imports(module)) {
    if (
      imp.module !== "wasi_snapshot_preview1" || !known.has(imp.name) || imp.kind !== "function"
    ) {
      throw new DenkiError(
        `wasm module ${
          JSON.stringify(name)
        } imports ${imp.module}.${imp.name}, which denki does not provide (only wasi_snapshot_preview1)`,
      );
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get("_start") !== "function") {
    throw new DenkiError(`wasm module ${JSON.stringify(name)} exports no _start function`);
  }
  if (exports.get("memory") !== "memory") {
    throw new DenkiError(`wasm module ${JSON.stringify(name)} exports no memory`);
  }
  return module;
}
