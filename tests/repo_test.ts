/** Checks on the repository itself: things that would break silently if they drifted. */
import assert from "node:assert/strict";

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
