/**
 * The WASI conformance programs in tests/wasi/src, each run against denki's WASI host the way a
 * rootful container runs it (raw system calls in the process) and the way a rootless one does
 * (a Worker with Deno permissions only on the preopened directories). See tests/wasi/README.md.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { build, missingTools, SRC } from "./wasi/build.ts";
import { normalizeTree, readTree, type Tree, writeTree } from "./wasi/tree.ts";

interface Case {
  args: string[];
  env: string[];
  stdin?: string;
  tree?: Tree;
  readonly?: boolean;
  mounts?: { guest: string; tree?: Tree; readonly?: boolean }[];
  expect: {
    stdout?: string;
    stdoutSha256?: string;
    stdoutLength?: number;
    stderr?: string;
    exit: number | "trap";
    tree?: Tree;
  };
  /**
   * Where a mode differs by design (the sandbox has no FFI: millisecond file times, no
   * lutimes): expected stdout lines and what that mode prints instead, with why.
   */
  differences?: Record<string, Differences>;
}

/** Expected lines a mode prints differently: a line, or {match: regex} for a varying one. */
interface Differences {
  why: string;
  lines: Record<string, string | { match: string }>;
}

/**
 * The stdout expected in a mode: `text` with the mode's differences applied. A varying line
 * takes the actual line when that matches its pattern (so a diff shows only real mismatches).
 */
export function expected(text: string, diff: Differences | undefined, actual: string): string {
  if (diff === undefined) return text;
  const lines = text.split("\n");
  const got = actual.split("\n");
  for (const [from, to] of Object.entries(diff.lines)) {
    const i = lines.indexOf(from);
    if (i < 0) throw new Error(`differences: no expected line ${JSON.stringify(from)}`);
    if (typeof to === "string") lines[i] = to;
    else lines[i] = new RegExp(`^${to.match}$`).test(got[i] ?? "") ? got[i]! : `/${to.match}/`;
  }
  return lines.join("\n");
}

const MODES = ["native", "sandbox"] as const;
const RUN_CASE = new URL("./wasi/run_case.ts", import.meta.url).pathname;
const TRAP_STATUS = 134;

async function sha256(text: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", text as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function runCase(mode: string, module: string, c: Case): Promise<void> {
  const tmp = Deno.makeTempDirSync({ prefix: "denki-wasi-" });
  try {
    const root = `${tmp}/root`;
    Deno.mkdirSync(root);
    writeTree(root, c.tree ?? {});
    const mounts = [{ guest: "/", host: root, readonly: c.readonly ?? false }];
    (c.mounts ?? []).forEach((m, i) => {
      const host = `${tmp}/mount${i}`;
      Deno.mkdirSync(host);
      writeTree(host, m.tree ?? {});
      mounts.push({ guest: m.guest, host, readonly: m.readonly ?? false });
    });
    const config = `${tmp}/config.json`;
    Deno.writeTextFileSync(
      config,
      JSON.stringify({
        args: c.args,
        env: c.env,
        mounts,
        preopens: mounts.map((m) => m.guest),
      }),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "--no-lock",
        "--unstable-worker-options",
        RUN_CASE,
        mode,
        module,
        config,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
    }).spawn();
    // A program that hangs is a failure, not a stuck test run.
    const guard = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(c.stdin ?? "")).catch(() => {});
    await writer.close().catch(() => {});
    const out = await child.output();
    clearTimeout(guard);
    const expect = { ...c.expect };
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    const exit = expect.exit === "trap" ? TRAP_STATUS : expect.exit;
    const context = `stderr: ${stderr}`;
    if (expect.stdout !== undefined) {
      assertEquals(stdout, expected(expect.stdout, c.differences?.[mode], stdout), context);
    }
    if (expect.stdoutLength !== undefined) {
      assertEquals(out.stdout.length, expect.stdoutLength, context);
    }
    if (expect.stdoutSha256 !== undefined) {
      assertEquals(await sha256(out.stdout), expect.stdoutSha256, context);
    }
    if (expect.stderr !== undefined) assertEquals(stderr, expect.stderr);
    assertEquals(out.code, exit, `exit status; ${context}`);
    if (expect.tree !== undefined) assertEquals(readTree(root), normalizeTree(expect.tree));
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
}

const why = missingTools();
const cases = [...Deno.readDirSync(SRC)]
  .filter((e) => e.name.endsWith(".json"))
  .map((e) => e.name.slice(0, -5))
  .sort();

for (const name of cases) {
  const c = JSON.parse(Deno.readTextFileSync(`${SRC}/${name}.json`)) as Case;
  for (const mode of MODES) {
    const reason = why;
    Deno.test({
      name: `wasi ${name} (${mode})${reason ? ` [skipped: ${reason}]` : ""}`,
      ignore: reason !== undefined,
      async fn() {
        const module = build(name).get(name);
        if (!module) throw new Error(`no source for ${name}`);
        await runCase(mode, module, c);
      },
    });
  }
}
