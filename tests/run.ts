/**
 * `deno task test`: installs what the tests need (Debian packages, when missing and when we
 * may), runs every unit and end-to-end test, and ends with one line: `N passed, N failed`
 * (plus `, N skipped` when tests were skipped; their reasons are in their names).
 */
import { bundle } from "../bin/bundle.ts";
import { CONTAINER_PACKAGES, ensurePrograms, WASM_TOOLCHAIN } from "./support/packages.ts";

/** Programs and files the tests use, and the Debian package that provides each. */
const PACKAGES = [...CONTAINER_PACKAGES, ...WASM_TOOLCHAIN];

/** Counts from deno test's final line, e.g. "ok | 64 passed (100 steps) | 0 failed | 2 ignored". */
export function parseSummary(
  text: string,
): { passed: number; failed: number; skipped: number } | undefined {
  const line = text.split("\n").reverse().find((l) => /^(ok|FAILED) \| \d+ passed/.test(l));
  if (line === undefined) return undefined;
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(line)?.[1] ?? 0);
  return { passed: count("passed"), failed: count("failed"), skipped: count("ignored") };
}

async function main(): Promise<number> {
  ensurePrograms(PACKAGES);
  // bin/denki runs the bundle while it is fresh, so the tests exercise what callers run.
  await bundle();
  const root = new URL("..", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "lib", "executors", "bundles", "bin", "tests"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // Echo the output as it comes and keep it for the summary.
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    text += decoder.decode(chunk, { stream: true });
    if (text.length > 1_000_000) text = text.slice(-100_000);
  }
  const status = await child.status;
  const summary = parseSummary(text);
  if (summary === undefined) {
    console.log(`deno test exited with status ${status.code} before reporting results`);
    console.log("0 passed, 1 failed");
    return 1;
  }
  const skipped = text.split("\n").filter((l) => / \.\.\. ignored/.test(l));
  if (skipped.length > 0) {
    console.log("\nskipped:");
    for (const l of skipped) console.log(`  ${l.replace(/ \.\.\. ignored.*/, "")}`);
  }
  const { passed, failed } = summary;
  console.log(
    `${passed} passed, ${failed} failed${
      summary.skipped > 0 ? `, ${summary.skipped} skipped` : ""
    }`,
  );
  return failed > 0 || !status.success ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
