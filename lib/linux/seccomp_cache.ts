/**
 * Compiled seccomp programs kept under the state root (`@seccomp/`), keyed by the profile's
 * exact text, the architecture and denki's version. Compiling a large profile costs about
 * 20 ms in a fresh Deno process; containers of one node mostly share a handful of profiles.
 * An entry is used only when its stored key equals the wanted one byte for byte, so a hash
 * collision or a damaged file means a fresh compile, never a wrong filter.
 */
import type { CompiledSeccomp, NativeArch } from "../plan/seccomp/compile.ts";
import type { Spec } from "../spec/config.ts";
import { DENKI_VERSION } from "../version.ts";

type Seccomp = NonNullable<NonNullable<Spec["linux"]>["seccomp"]>;

/** FNV-1a, 64 bits, as hex: a file name for a key (the key itself decides a hit). */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/**
 * Compiles `seccomp`, or takes the program compiled for the same profile before. The
 * compiler and its syscall tables load only on a miss: every container init imports this.
 */
export async function compileCached(
  seccomp: Seccomp,
  arch: NativeArch,
  cacheDir: string,
): Promise<CompiledSeccomp> {
  const profile = JSON.stringify(seccomp, (_k, v) => typeof v === "bigint" ? `${v}n` : v);
  const key = `denki ${DENKI_VERSION}\n${arch}\n${profile}`;
  const file = `${cacheDir}/${fnv1a64(key)}.json`;
  try {
    const entry = JSON.parse(Deno.readTextFileSync(file));
    if (entry.key === key) {
      return {
        program: fromBase64(entry.program),
        flags: entry.flags,
        notify: entry.notify,
        notes: entry.notes,
      };
    }
  } catch {
    // not cached yet, or unreadable: compile
  }
  const { compileSeccomp } = await import("../plan/seccomp/compile.ts");
  const compiled = compileSeccomp(seccomp, arch);
  try {
    Deno.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    // Pids repeat across pid namespaces: a random name keeps two writers apart.
    const tmp = `${file}.${crypto.randomUUID()}.tmp`;
    Deno.writeTextFileSync(
      tmp,
      JSON.stringify({ key, ...compiled, program: toBase64(compiled.program) }),
      { mode: 0o600 },
    );
    Deno.renameSync(tmp, file);
  } catch {
    // A cache that cannot be written only costs the next container a compile.
  }
  return compiled;
}

/** The cache directory for a container's state directory (`<root>/<id>`): `<root>/@seccomp`. */
export function seccompCacheDir(stateDir: string): string {
  return `${stateDir.slice(0, stateDir.lastIndexOf("/"))}/@seccomp`;
}
