/**
 * `deno task compile [--output FILE]`: builds denki as one executable with the permission flags
 * of bin/deno-flags baked in. `deno compile` needs the `denort` runtime matching this Deno; it
 * is downloaded from dl.deno.land (not reachable from every machine) unless DENORT_BIN names a
 * local copy. When neither works, this says so plainly instead of showing a network trace.
 */
import { bundle } from "./bundle.ts";

const root = new URL("..", import.meta.url).pathname;
const version = Deno.version.deno;
const target = `${Deno.build.arch}-unknown-linux-gnu`;
const zip = `denort-${target}.zip`;

function fail(message: string): never {
  console.error(`compile: ${message}`);
  Deno.exit(1);
}

function outputPath(args: string[]): string {
  const i = args.findIndex((a) => a === "--output" || a === "-o");
  if (i >= 0 && args[i + 1]) return args[i + 1]!;
  const eq = args.find((a) => a.startsWith("--output="));
  return eq ? eq.slice("--output=".length) : `${root}bin/denki-${Deno.build.arch}`;
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = Deno.statSync(a);
    const y = Deno.statSync(b);
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

/** Refuses a DENORT_BIN that cannot work, before deno compile gives a cryptic error. */
function checkDenortBin(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    fail(`DENORT_BIN=${path} does not exist`);
  }
  if (!info.isFile) fail(`DENORT_BIN=${path} is not a file`);
  if (sameFile(path, Deno.execPath())) {
    fail(
      `DENORT_BIN=${path} is the deno CLI itself; a binary built on it ignores its payload. ` +
        `It must be the denort runtime (${zip} of Deno ${version}, unzipped).`,
    );
  }
}

async function main(): Promise<void> {
  const out = outputPath(Deno.args);
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) checkDenortBin(denort);
  await bundle();
  const flags = Deno.readTextFileSync(`${root}bin/deno-flags`).trim().split(/\s+/);
  const result = await new Deno.Command(Deno.execPath(), {
    // The Wasm executor starts its guest Worker from the bundled worker script.
    args: [
      "compile",
      ...flags,
      "--include",
      `${root}bin/.bundle/wasm-worker.js`,
      "--output",
      out,
      `${root}main.ts`,
    ],
    stdout: "inherit",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  if (!result.success) {
    if (!denort && /dl\.deno\.land|error sending request|dns error/.test(stderr)) {
      fail(
        `the denort runtime for Deno ${version} cannot be downloaded from this machine ` +
          `(https://dl.deno.land/release/v${version}/${zip}). Fetch that file elsewhere, ` +
          `unzip it, and run again with DENORT_BIN=/path/to/denort.`,
      );
    }
    console.error(stderr);
    fail("deno compile failed");
  }
  // A binary built on the wrong runtime starts but ignores denki's code: check it is denki.
  const check = await new Deno.Command(out, {
    args: ["--version"],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const said = new TextDecoder().decode(check.stdout);
  if (!check.success || !said.startsWith("denki version ")) {
    fail(`${out} was built but does not run denki (it printed: ${said.split("\n")[0]})`);
  }
  console.log(`compile: wrote ${out}`);
}

if (import.meta.main) await main();
