/** bin/denki: finding Deno, symlinks, and running the bundle only while it is fresh. */
import assert from "node:assert/strict";
import { LAUNCHER, run, tempDir } from "./support/denki.ts";
import { program, root as needsRoot, testWith } from "./support/requires.ts";

const root = new URL("..", import.meta.url).pathname;
const denoDir = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));

Deno.test("launcher: works through a symlink and finds deno on PATH", async () => {
  const dir = tempDir();
  try {
    Deno.symlinkSync(LAUNCHER, `${dir.path}/denki`);
    const r = await run(["--version"], {
      program: `${dir.path}/denki`,
      env: { PATH: `/usr/bin:/bin:${denoDir}`, DENKI_DENO: "" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^denki version /);
  } finally {
    dir.cleanup();
  }
});

Deno.test("launcher: no deno anywhere is a clear error", async () => {
  const r = await run(["--version"], { env: { PATH: "/nonexistent", DENKI_DENO: "" } });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^denki: cannot find deno: put Deno \d+\.\d+\.\d+ on PATH or set DENKI_DENO/,
  );
});

Deno.test("launcher: the bundle is used while fresh, the sources once one is newer", async () => {
  const dir = tempDir();
  try {
    // A private copy of the tree, so touching a source file does not disturb anyone.
    for (const part of ["main.ts", "lib", "executors", "bin"]) {
      new Deno.Command("cp", { args: ["-a", `${root}${part}`, dir.path] }).outputSync();
    }
    try {
      Deno.removeSync(`${dir.path}/bin/.bundle`, { recursive: true });
    } catch {
      // no bundle in the source tree yet
    }
    const build = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${dir.path}/bin/bundle.ts`],
      stdout: "null",
    }).outputSync();
    assert.ok(build.success);
    const which = async (env: Record<string, string> = {}) => {
      const r = await run(["--debug", "--root", `${dir.path}/state`, "list", "-q"], {
        program: `${dir.path}/bin/denki`,
        env,
      });
      assert.equal(r.code, 0, r.stderr);
      return /denki running (\S+)/.exec(r.stderr)?.[1];
    };
    assert.equal(await which(), `file://${dir.path}/bin/.bundle/main.js`);
    assert.equal(await which({ DENKI_FROM_SOURCE: "1" }), `file://${dir.path}/main.ts`);
    const later = new Date(Date.now() + 5000);
    Deno.utimeSync(`${dir.path}/lib/state/store.ts`, later, later);
    assert.equal(await which(), `file://${dir.path}/main.ts`);
  } finally {
    dir.cleanup();
  }
});

Deno.test("launcher: delete --force of a container that does not exist needs no Deno", async () => {
  const dir = tempDir();
  try {
    Deno.mkdirSync(`${dir.path}/present`);
    Deno.symlinkSync(`${dir.path}/nowhere`, `${dir.path}/link`);
    // No Deno to be found: only the fast path can answer, and it answers only plain cases.
    const noDeno = { env: { PATH: "/nonexistent", DENKI_DENO: "" } };
    const root = dir.path;
    for (
      const args of [
        ["--root", root, "delete", "--force", "absent"],
        [
          `--root=${root}`,
          "--log",
          `${root}/log`,
          "--log-format",
          "json",
          "delete",
          "-f",
          "absent",
        ],
      ]
    ) {
      const r = await run(args, noDeno);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, "");
    }
    // Everything else is denki's to answer (here: cannot, without Deno).
    for (
      const args of [
        ["--root", root, "delete", "--force", "present"],
        // A dangling link in the entry's place is not "absent": denki refuses such roots.
        ["--root", root, "delete", "--force", "link"],
        // A root that is not there may be one this caller cannot see.
        ["--root", `${root}/none`, "delete", "--force", "absent"],
        ["--root", root, "delete", "absent"],
        ["delete", "--force", "absent"],
        ["--root", root, "delete", "--force", "../absent"],
        ["--root", root, "delete", "--force", "absent", "--help"],
        ["--root", root, "kill", "absent"],
      ]
    ) {
      const r = await run(args, noDeno);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /cannot find deno/);
    }
  } finally {
    dir.cleanup();
  }
});

testWith(
  "launcher: delete --force by a caller who cannot read the root is not answered by the fast path",
  [needsRoot(), program("setpriv")],
  async () => {
    const dir = tempDir();
    try {
      // Root's 0700 state root with a container in it; `nobody` sees neither.
      const root = `${dir.path}/state`;
      Deno.mkdirSync(`${root}/running`, { recursive: true, mode: 0o700 });
      Deno.chmodSync(root, 0o700);
      Deno.chmodSync(dir.path, 0o755);
      const r = await run(
        [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          LAUNCHER,
          "--root",
          root,
          "delete",
          "-f",
          "running",
        ],
        { program: "/usr/bin/setpriv", env: { PATH: "/nonexistent", DENKI_DENO: "" } },
      );
      // Not "0, nothing to delete": denki itself must answer (here it cannot: no Deno).
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot find deno/);
      assert.ok(Deno.statSync(`${root}/running`).isDirectory);
    } finally {
      dir.cleanup();
    }
  },
);
