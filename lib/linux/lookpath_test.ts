import assert from "node:assert/strict";
import { DEFAULT_PATH, lookPathIn, pathOf, withRoot } from "./lookpath.ts";

const lookPath = (name: string, env: string[]) => withRoot((root) => lookPathIn(root, name, env));

Deno.test("pathOf: the last PATH in the environment, or the default", () => {
  assert.equal(pathOf(["A=1", "PATH=/x", "PATH=/y:/z"]), "/y:/z");
  assert.equal(pathOf(["A=1"]), DEFAULT_PATH);
});

Deno.test("lookPath: PATH search, names with slashes, runc's messages", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/a`);
    Deno.mkdirSync(`${dir}/b`);
    Deno.writeTextFileSync(`${dir}/a/tool`, "", { mode: 0o644 });
    Deno.writeTextFileSync(`${dir}/b/tool`, "", { mode: 0o755 });
    const env = [`PATH=${dir}/a:${dir}/b`];
    assert.equal(lookPath("tool", env), `${dir}/b/tool`, "not executable in a/, found in b/");
    assert.equal(lookPath(`${dir}/b/tool`, env), `${dir}/b/tool`);
    assert.throws(() => lookPath("nope", env), {
      message: 'exec: "nope": executable file not found in $PATH',
    });
    assert.throws(() => lookPath(`${dir}/missing`, env), {
      message: `exec: "${dir}/missing": stat ${dir}/missing: no such file or directory`,
    });
    assert.throws(() => lookPath(`${dir}/a/tool`, env), {
      message: `exec: "${dir}/a/tool": permission denied`,
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
