/**
 * The guest Worker's code as one self-contained script. The Worker is started from a blob
 * URL, because inside a container its file (denki's own) is out of reach once the root has
 * been switched; the text is read before that, from the bundle `deno task bundle` wrote (or
 * the copy embedded in a compiled binary), or bundled on the spot when running from source.
 */
import { DenkiError } from "../../lib/errors.ts";

/** Where denki's files are: the repository root (source, bundle) or the binary's. */
function repoRoot(): URL {
  const entry = new URL(Deno.mainModule);
  return new URL(entry.pathname.endsWith("/bin/.bundle/main.js") ? "../../" : "./", entry);
}

/** The worker script text. */
export function workerSource(): string {
  const prebuilt = new URL("bin/.bundle/wasm-worker.js", repoRoot());
  const fromBundle = Deno.build.standalone || Deno.mainModule.endsWith("/bin/.bundle/main.js");
  if (fromBundle) {
    try {
      return Deno.readTextFileSync(prebuilt);
    } catch (err) {
      throw new DenkiError(
        `cannot read the Wasm worker ${prebuilt.pathname}: ${(err as Error).message}`,
      );
    }
  }
  // From source: bundle the worker now (slower; `deno task bundle` avoids it).
  const worker = new URL("./worker.ts", import.meta.url);
  const out = new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--no-config", "--no-lock", "--platform", "deno", worker.pathname],
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    throw new DenkiError(
      `cannot bundle the Wasm worker: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}
