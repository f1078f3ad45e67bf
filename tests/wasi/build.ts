/**
 * Builds the WASI test programs in tests/wasi/src into tests/wasi/.build: C with clang
 * (--target=wasm32-wasi, Debian's wasi-libc), WAT with wat2wasm. Rebuilds only what is stale.
 */
import { hasProgram } from "../support/packages.ts";

const here = new URL(".", import.meta.url).pathname;
export const SRC = `${here}src`;
export const BUILD = `${here}.build`;

function mtime(path: string): number {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

/** The C compiler for wasm32-wasi, if one is installed. */
export function clang(): string | undefined {
  return ["clang", "clang-14", "clang-15", "clang-16"].find(hasProgram);
}

/** Why the programs cannot be built here, or undefined when they can. */
export function missingTools(): string | undefined {
  if (!clang()) return "clang is not installed";
  if (!hasProgram("wat2wasm")) return "wabt (wat2wasm) is not installed";
  try {
    Deno.statSync("/usr/lib/wasm32-wasi/libc.a");
  } catch {
    return "wasi-libc is not installed";
  }
  return undefined;
}

/** The newest mtime of the shared headers in SRC (every C program may include them). */
function headers(): number {
  let newest = 0;
  for (const e of Deno.readDirSync(SRC)) {
    if (e.name.endsWith(".h")) newest = Math.max(newest, mtime(`${SRC}/${e.name}`));
  }
  return newest;
}

/** Compiles one C or WAT source into BUILD (when stale); returns the module's path. */
export function compile(src: string): string {
  const m = /([^/]*)\.(c|wat)$/.exec(src);
  if (!m) throw new Error(`not a C or WAT source: ${src}`);
  Deno.mkdirSync(BUILD, { recursive: true });
  const wasm = `${BUILD}/${m[1]}.wasm`;
  const c = m[2] === "c";
  if (mtime(wasm) > Math.max(mtime(src), c ? headers() : 0)) return wasm;
  const cmd = c
    ? [clang()!, "--target=wasm32-wasi", "-O2", "-I", SRC, "-o", wasm, src]
    : ["wat2wasm", "-o", wasm, src];
  const r = new Deno.Command(cmd[0]!, { args: cmd.slice(1), stderr: "piped" }).outputSync();
  if (!r.success) throw new Error(`building ${src}: ${new TextDecoder().decode(r.stderr)}`);
  return wasm;
}

/** Builds every program in SRC (or the one named); returns the paths of the modules. */
export function build(only?: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of Deno.readDirSync(SRC)) {
    const m = /^(.*)\.(c|wat)$/.exec(e.name);
    if (!m || (only && m[1] !== only)) continue;
    out.set(m[1]!, compile(`${SRC}/${e.name}`));
  }
  return out;
}

if (import.meta.main) {
  const why = missingTools();
  if (why) {
    console.error(`cannot build: ${why}`);
    Deno.exit(1);
  }
  for (const [name, path] of build(Deno.args[0])) console.log(`${name}: ${path}`);
}
