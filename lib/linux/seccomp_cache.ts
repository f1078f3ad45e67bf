/**
 * Compiled seccomp programs kept under the state root (`@seccomp/`), keyed by the profile's
 * exact text, the architecture and denki's version. Compiling a large profile costs about
 * 20 ms in a fresh Deno process; containers of one node mostly share a handful of profiles.
 *
 * A cached program replaces the profile, so an entry is only believed when nobody but the
 * caller (or root) could have written it: the cache directory is theirs and writable by
 * nobody else, and the entry is a regular file (never a link) of theirs with mode 0600.
 * Its content must then match the name it is stored under, the key wanted (byte for byte)
 * and its own checksum; anything else means a fresh compile (and a note in the debug log),
 * never a wrong filter.
 */
import { AT_FDCWD } from "../plan/abi.ts";
import type { CompiledSeccomp, NativeArch } from "../plan/seccomp/compile.ts";
import type { Spec } from "../spec/config.ts";
import {
  closeFd,
  DIR_FLAGS,
  distrust,
  ENOENT,
  FILE_FLAGS,
  openAt,
  readAll,
  S_IFMT,
  S_IFREG,
  statAt,
} from "../state/trust.ts";
import { DENKI_VERSION } from "../version.ts";

type Seccomp = NonNullable<NonNullable<Spec["linux"]>["seccomp"]>;

/**
 * 64 bits of FNV-1a, as hex: two 32-bit lanes with different offsets (Math.imul keeps it
 * fast). Names an entry and checks it is whole; it is no defence against a writer, which the
 * ownership checks are.
 */
export function hash64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0xcbf29ce4;
  for (const byte of new TextEncoder().encode(text)) {
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte ^ 0x5a, 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** An entry as stored: its key, the compiled result, and a checksum over both. */
interface Entry {
  key: string;
  program: string;
  flags: number;
  notify: boolean;
  notes: string[];
  sum: string;
}

function checksum(e: Omit<Entry, "sum">): string {
  return hash64(JSON.stringify([e.key, e.program, e.flags, e.notify, e.notes]));
}

/** The cache key of a profile: denki's version, the architecture and the profile's text. */
export function cacheKey(seccomp: Seccomp, arch: NativeArch): string {
  const profile = JSON.stringify(seccomp, (_k, v) => typeof v === "bigint" ? `${v}n` : v);
  return `denki ${DENKI_VERSION}\n${arch}\n${profile}`;
}

/** The file name of a key's entry. */
export function entryName(key: string): string {
  return `${hash64(key)}.json`;
}

/** The entry for `key` when it can be believed; otherwise undefined, and why in `notes`. */
function lookUp(cacheDir: string, key: string, notes: string[]): CompiledSeccomp | undefined {
  const name = entryName(key);
  const dir = openAt(AT_FDCWD, cacheDir, DIR_FLAGS);
  if (dir.fd < 0) return undefined;
  try {
    const dirStat = statAt(dir.fd);
    const dirWhy = dirStat === undefined ? "cannot be examined" : distrust(dirStat);
    if (dirWhy !== undefined) {
      notes.push(`seccomp cache ${cacheDir} not used: ${dirWhy}`);
      return undefined;
    }
    const file = openAt(dir.fd, name, FILE_FLAGS);
    if (file.fd < 0) {
      if (file.errno !== ENOENT) {
        notes.push(`seccomp cache entry ${name} not used (errno ${file.errno})`);
      }
      return undefined;
    }
    let text: string;
    try {
      const st = statAt(file.fd);
      const why = st === undefined
        ? "cannot be examined"
        : (st.mode & S_IFMT) !== S_IFREG
        ? "not a regular file"
        : (st.mode & 0o7777) !== 0o600
        ? `its mode is ${(st.mode & 0o7777).toString(8)}, not 600`
        : distrust(st);
      if (why !== undefined) {
        notes.push(`seccomp cache entry ${name} not used: ${why}`);
        return undefined;
      }
      text = new TextDecoder().decode(readAll(file.fd, name));
    } finally {
      closeFd(file.fd);
    }
    const e = JSON.parse(text) as Entry;
    if (e.key !== key || entryName(e.key) !== name || e.sum !== checksum(e)) {
      notes.push(`seccomp cache entry ${name} not used: it does not match its key`);
      return undefined;
    }
    return { program: fromBase64(e.program), flags: e.flags, notify: e.notify, notes: e.notes };
  } catch {
    notes.push(`seccomp cache entry ${name} not used: it is damaged`);
    return undefined;
  } finally {
    closeFd(dir.fd);
  }
}

/** Stores an entry: written to a private temp file, then renamed into place. */
function store(cacheDir: string, key: string, compiled: CompiledSeccomp): void {
  try {
    Deno.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const dir = openAt(AT_FDCWD, cacheDir, DIR_FLAGS);
    if (dir.fd < 0) return;
    const st = statAt(dir.fd);
    closeFd(dir.fd);
    if (st === undefined || distrust(st) !== undefined) return;
    const body = { key, ...compiled, program: toBase64(compiled.program) };
    const entry: Entry = { ...body, sum: checksum(body) };
    // Pids repeat across pid namespaces: a random name keeps two writers apart.
    const file = `${cacheDir}/${entryName(key)}`;
    const tmp = `${file}.${crypto.randomUUID()}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(entry), { mode: 0o600, createNew: true });
    // Exactly 0600 whatever the umask: anything else is not believed on the next read.
    Deno.chmodSync(tmp, 0o600);
    Deno.renameSync(tmp, file);
  } catch {
    // A cache that cannot be written only costs the next container a compile.
  }
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
  const key = cacheKey(seccomp, arch);
  const notes: string[] = [];
  const hit = lookUp(cacheDir, key, notes);
  if (hit !== undefined) return hit;
  const { compileSeccomp } = await import("../plan/seccomp/compile.ts");
  const compiled = compileSeccomp(seccomp, arch);
  store(cacheDir, key, compiled);
  return notes.length === 0 ? compiled : { ...compiled, notes: [...compiled.notes, ...notes] };
}

/** The cache directory for a container's state directory (`<root>/<id>`): `<root>/@seccomp`. */
export function seccompCacheDir(stateDir: string): string {
  return `${stateDir.slice(0, stateDir.lastIndexOf("/"))}/@seccomp`;
}
