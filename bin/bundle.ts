/**
 * `deno task bundle`: pre-bundles main.ts into bin/.bundle/ (an entry plus one chunk per
 * command), which bin/denki runs instead of the sources while it is newer than every source
 * file (the launcher runs this file itself when the bundle is missing or stale). Loading a
 * handful of bundled modules instead of dozens of TypeScript files saves about 15 ms on every
 * denki command (measured in `deno task bench`).
 *
 * Deno reads every module a literal `import("./x.js")` names while it builds the module graph
 * at start-up, used or not; the chunks' dynamic imports are therefore rewritten to a form it
 * does not analyse, so each command reads only its own chunks.
 */

const root = new URL("..", import.meta.url).pathname;
const target = `${root}bin/.bundle`;

/** Rewrites `import("./chunk.js")` to `import(String("./chunk.js"))`: loaded only when run. */
export function lazyImports(code: string): string {
  return code.replace(/\bimport\("(\.\/[\w.-]+\.js)"\)/g, 'import(String("$1"))');
}

/** Runs `deno bundle` for the Deno platform with `args` (outputs and entry); true on success. */
export async function denoBundle(args: string[]): Promise<boolean> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--no-config", "--no-lock", "--platform", "deno", ...args],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return out.success;
}

/** Builds the bundle into a fresh directory and moves it into place. */
export async function bundle(): Promise<void> {
  const tmp = `${target}.tmp-${Deno.pid}`;
  const fail = (what: string): never => {
    Deno.removeSync(tmp, { recursive: true });
    throw new Error(`deno bundle of ${what} failed`);
  };
  if (!await denoBundle(["--code-splitting", "--outdir", tmp, `${root}main.ts`])) fail("denki");
  // The Wasm guest's Worker is started from its text (see executors/wasm/worker_source.ts).
  const worker = [`--output`, `${tmp}/wasm-worker.js`, `${root}executors/wasm/worker.ts`];
  if (!await denoBundle(worker)) fail("the Wasm worker");
  for (const entry of Deno.readDirSync(tmp)) {
    if (!entry.name.endsWith(".js")) continue;
    const file = `${tmp}/${entry.name}`;
    const text = Deno.readTextFileSync(file);
    Deno.writeTextFileSync(file, lazyImports(text));
  }
  try {
    Deno.removeSync(target, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  Deno.renameSync(tmp, target);
}

if (import.meta.main) {
  await bundle();
  console.log(`bundle: wrote ${target}/main.js`);
}
