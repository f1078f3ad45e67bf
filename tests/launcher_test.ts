/** bin/denki: finding Deno, symlinks, and running the bundle only while it is fresh. */
import assert from "node:assert/strict";
import * as sc from "../lib/sys/syscalls.ts";
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

Deno.test("launcher: the bundle is built on first use and when stale, else the sources run", async () => {
  const dir = tempDir();
  try {
    // A private copy of the tree, so building and touching files disturbs no one.
    for (const part of ["main.ts", "lib", "executors", "bin"]) {
      new Deno.Command("cp", { args: ["-a", `${root}${part}`, dir.path] }).outputSync();
    }
    const bundleDir = `${dir.path}/bin/.bundle`;
    const mainJs = `${bundleDir}/main.js`;
    try {
      Deno.removeSync(bundleDir, { recursive: true });
    } catch {
      // no bundle in the source tree yet
    }
    const which = async (env: Record<string, string> = {}) => {
      const r = await run(["--debug", "--root", `${dir.path}/state`, "list", "-q"], {
        program: `${dir.path}/bin/denki`,
        env,
      });
      assert.equal(r.code, 0, r.stderr);
      return /denki running (\S+)/.exec(r.stderr)?.[1];
    };
    const bundled = `file://${mainJs}`;
    const source = `file://${dir.path}/main.ts`;
    const exists = (path: string) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    };

    // DENKI_FROM_SOURCE=1 runs main.ts and builds nothing.
    assert.equal(await which({ DENKI_FROM_SOURCE: "1" }), source);
    assert.ok(!exists(mainJs));
    // The first plain call builds the bundle and runs it; the next one just runs it.
    assert.equal(await which(), bundled);
    assert.ok(exists(mainJs));
    const built = Deno.statSync(mainJs).mtime!.getTime();
    assert.equal(await which(), bundled);
    assert.equal(Deno.statSync(mainJs).mtime!.getTime(), built, "not built again while fresh");

    // Older than a source file: built again.
    const past = new Date(Date.now() - 3_600_000);
    Deno.utimeSync(mainJs, past, past);
    assert.equal(await which(), bundled);
    assert.ok(Deno.statSync(mainJs).mtime!.getTime() > past.getTime(), "rebuilt");

    // While another launcher builds (it holds the lock), a stale bundle means the sources.
    Deno.utimeSync(mainJs, past, past);
    const lock = sc.open(
      `${dir.path}/bin/.bundle.lock`,
      sc.O_RDWR | sc.O_CREAT | sc.O_CLOEXEC,
      0o600,
    );
    try {
      assert.ok(sc.flockExclusive(lock, false, "test lock"));
      assert.equal(await which(), source);
    } finally {
      sc.close(lock);
    }
    // A caller who does not own bin/ never builds there: root in someone's checkout.
    Deno.chownSync(`${dir.path}/bin`, 65534, 65534);
    assert.equal(await which(), source);
    assert.equal(Deno.statSync(mainJs).mtime!.getTime(), past.getTime(), "nothing built");
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
