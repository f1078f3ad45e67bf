/** Checks on the repository itself: things that would break silently if they drifted. */
import assert from "node:assert/strict";
import { ExecutorRegistry } from "../lib/executor_registry.ts";
import { registerExecutors } from "../executors/mod.ts";

const root = new URL("..", import.meta.url).pathname;

function walk(dir: string, depth = 0, out: { path: string; depth: number }[] = []) {
  for (const e of Deno.readDirSync(`${root}${dir}`)) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory && !e.name.startsWith(".")) walk(rel, depth + 1, out);
    else if (e.isFile && e.name.endsWith(".ts")) out.push({ path: rel, depth });
  }
  return out;
}

Deno.test("repo: the Deno version is the same everywhere it is named", () => {
  const readme = Deno.readTextFileSync(`${root}README.md`);
  const versions = new Set([...readme.matchAll(/deno@(\d+\.\d+\.\d+)/g)].map((m) => m[1]));
  const launcher = Deno.readTextFileSync(`${root}bin/denki`);
  for (const m of launcher.matchAll(/Deno (\d+\.\d+\.\d+)|deno@(\d+\.\d+\.\d+)/g)) {
    versions.add(m[1] ?? m[2]);
  }
  assert.deepEqual([...versions], [Deno.version.deno]);
});

Deno.test("repo: .ci/run runs the README's test command", () => {
  const readme = Deno.readTextFileSync(`${root}README.md`);
  assert.match(readme, /^npx -y deno@\d+\.\d+\.\d+ task test$/m);
  assert.match(readme, /^npx -y deno@\d+\.\d+\.\d+ task demo$/m);
  assert.match(Deno.readTextFileSync(`${root}.ci/run`), /task test\$' README\.md/);
});

Deno.test("repo: sources are at most three folders deep (bin/denki's freshness check)", () => {
  for (const dir of ["lib", "executors"]) {
    for (const f of walk(dir)) assert.ok(f.depth <= 2, `${f.path} is too deep`);
  }
});

Deno.test("repo: no npm: or node: import on the command path", () => {
  for (const f of [...walk("lib"), ...walk("executors"), { path: "main.ts", depth: 0 }]) {
    if (f.path.endsWith("_test.ts")) continue;
    const text = Deno.readTextFileSync(`${root}${f.path}`);
    assert.doesNotMatch(text, /from\s+["'](npm|node):/, f.path);
    assert.doesNotMatch(text, /import\(\s*["'](npm|node):/, f.path);
  }
});

Deno.test("repo: the runtime's permission flags never include --allow-all", () => {
  const flags = Deno.readTextFileSync(`${root}bin/deno-flags`).trim().split(/\s+/);
  assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"));
  assert.ok(flags.every((f) => f.startsWith("--")));
});

/** Non-test sources of the runtime: what main.ts can load. */
function runtimeSources(): string[] {
  return [...walk("lib"), ...walk("executors"), { path: "main.ts", depth: 0 }]
    .map((f) => f.path.replace(/^\//, ""))
    .filter((p) => !p.endsWith("_test.ts"));
}

Deno.test("repo: a test file is named after the module beside it that it tests", () => {
  // Named after their folder: the sample bundles; the cgroup drivers (their refactor renames it).
  const allowed = new Set(["bundles/bundles_test.ts", "lib/cgroups/cgroups_test.ts"]);
  for (const dir of ["lib", "executors", "bin", "bundles"]) {
    for (const f of walk(dir)) {
      const path = f.path.replace(/^\//, "");
      if (!path.endsWith("_test.ts") || allowed.has(path)) continue;
      const module = path.replace(/_test\.ts$/, ".ts");
      assert.ok(
        (() => {
          try {
            return Deno.statSync(`${root}${module}`).isFile;
          } catch {
            return false;
          }
        })(),
        `${path}: no ${module} beside it`,
      );
    }
  }
});

Deno.test("repo: test support in lib/plan/testing is imported by tests only", () => {
  for (const path of runtimeSources()) {
    if (path.startsWith("lib/plan/testing/")) continue;
    const text = Deno.readTextFileSync(`${root}${path}`);
    assert.doesNotMatch(text, /["'](\.\.?\/)+([\w.-]+\/)*testing\/[\w.-]+\.ts["']/, path);
  }
});

Deno.test("repo: raw syscall() only in lib/sys; lib/plan and lib/spec touch no Deno API", () => {
  for (const path of runtimeSources()) {
    const text = Deno.readTextFileSync(`${root}${path}`);
    if (!path.startsWith("lib/sys/")) {
      assert.doesNotMatch(text, /from\s+["'][^"']*sys\/libc\.ts["']/, `${path} imports libc.ts`);
    }
    if (path.startsWith("lib/plan/") || path.startsWith("lib/spec/")) {
      assert.doesNotMatch(text, /\bDeno\.[a-z]/i, `${path} uses Deno.*`);
    }
  }
});

/** One import of a module: its specifier, and whether it is type-only or dynamic. */
interface ImportOf {
  specifier: string;
  typeOnly: boolean;
  dynamic: boolean;
}

/** Every import and re-export in a module's text (static, type-only, side-effect, dynamic). */
function importsOf(text: string): ImportOf[] {
  const out: ImportOf[] = [];
  // Statements end with ";" (deno fmt), so [^;] keeps a match inside one statement.
  for (
    const m of text.matchAll(
      /^\s*(import|export)\s+(type\s+)?([^;]*?\s+from\s+)?["']([^"']+)["']/gm,
    )
  ) {
    if (m[1] === "export" && m[3] === undefined) continue;
    out.push({ specifier: m[4]!, typeOnly: m[2] !== undefined, dynamic: false });
  }
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']/g)) {
    out.push({ specifier: m[1]!, typeOnly: false, dynamic: true });
  }
  return out;
}

/** The repository path an import in `from` (a repository path) names; undefined if not local. */
function importTarget(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return new URL(specifier, `file:///${from}`).pathname.slice(1);
}

Deno.test("repo: importsOf finds static, type-only, re-exported and dynamic imports", () => {
  const text = [
    'import { a } from "../../executors/linux.ts";',
    'import type {\n  B,\n} from "../executors/mod.ts";',
    'export { c } from "./c.ts";',
    "export function f() {}",
    'import "./side.ts";',
    'const x = await import("../executors/wasm/executor.ts");',
  ].join("\n");
  assert.deepEqual(importsOf(text), [
    { specifier: "../../executors/linux.ts", typeOnly: false, dynamic: false },
    { specifier: "../executors/mod.ts", typeOnly: true, dynamic: false },
    { specifier: "./c.ts", typeOnly: false, dynamic: false },
    { specifier: "./side.ts", typeOnly: false, dynamic: false },
    { specifier: "../executors/wasm/executor.ts", typeOnly: false, dynamic: true },
  ]);
  assert.equal(importTarget("lib/linux/init.ts", "../../executors/linux.ts"), "executors/linux.ts");
  assert.equal(importTarget("lib/x.ts", "node:assert/strict"), undefined);
});

Deno.test("repo: lib/ never imports from executors/ (main.ts registers the executors)", () => {
  for (const f of walk("lib")) {
    const path = f.path.replace(/^\//, "");
    const text = Deno.readTextFileSync(`${root}${path}`);
    for (const i of importsOf(text)) {
      const target = importTarget(path, i.specifier);
      assert.ok(!target?.startsWith("executors/"), `${path} imports ${i.specifier}`);
    }
  }
});

Deno.test("repo: executor code loads on demand, never at every command's start-up", () => {
  // main.ts may only reach executors/mod.ts up front, and that module only names the
  // executors in dynamic imports: `state`, `list` and the rest never read the Wasm host. It may
  // read up front only what describes an executor: a module that imports nothing itself.
  const main = importsOf(Deno.readTextFileSync(`${root}main.ts`));
  const eager = main.filter((i) => !i.typeOnly && !i.dynamic)
    .map((i) => importTarget("main.ts", i.specifier))
    .filter((t) => t?.startsWith("executors/"));
  assert.deepEqual(eager, ["executors/mod.ts"]);
  const mod = importsOf(Deno.readTextFileSync(`${root}executors/mod.ts`));
  const loaded = mod.filter((i) => !i.typeOnly).map((i) => ({
    target: importTarget("executors/mod.ts", i.specifier),
    dynamic: i.dynamic,
  }));
  assert.ok(loaded.filter((l) => l.dynamic).length >= 2, "executors/mod.ts registers them");
  for (const l of loaded) {
    if (l.dynamic) continue;
    const leaf = importsOf(Deno.readTextFileSync(`${root}${l.target}`)).length === 0;
    assert.ok(leaf, `executors/mod.ts imports ${l.target} eagerly, and it imports more`);
  }
});

/** Lines of `text` that compare something with one of `names` as a string literal. */
function nameBranches(text: string, names: readonly string[]): string[] {
  const literal = `["'\`](?:${names.join("|")})["'\`]`;
  const branch = new RegExp(`[=!]==?\\s*${literal}|${literal}\\s*[=!]==?|\\bcase\\s+${literal}`);
  // The host's OS is not an executor: `Deno.build.os === "linux"` is no branch on one.
  return text.split("\n").filter((l) => branch.test(l) && !/\bbuild\.os\b/.test(l));
}

Deno.test("repo: lib/ never branches on an executor's name", () => {
  const registry = new ExecutorRegistry();
  registerExecutors(registry);
  const names = registry.names;
  assert.deepEqual(nameBranches('  const sandbox = executor.name === "wasm" &&', names), [
    '  const sandbox = executor.name === "wasm" &&',
  ]);
  assert.equal(nameBranches("if ('linux' !== boot.executor) {}\ncase `wasm`:", names).length, 2);
  assert.deepEqual(nameBranches('Deno.build.os === "linux"\nconst x = "wasm";', names), []);
  // The lifecycle decides by an executor's properties (inProcess, ownSandbox) instead.
  for (const path of runtimeSources().filter((p) => p.startsWith("lib/"))) {
    const text = Deno.readTextFileSync(`${root}${path}`);
    assert.deepEqual(nameBranches(text, names), [], `${path} branches on an executor's name`);
  }
});
