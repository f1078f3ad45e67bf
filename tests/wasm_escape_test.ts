/**
 * Issue 11 part 4, end to end: a guest opens a directory, removes it, makes its name a symlink
 * to a host directory and keeps using the old descriptor (and does the same with a file and
 * with a directory's parent). Run by user nobody in the rootless sandbox against a temp tree
 * holding nobody's 0600 secrets outside the container root, and the same in a rootful
 * container. The secrets must stay unread, nothing may appear, vanish or change outside, and
 * no host directory may be listed or stat'ed. The guest is tests/wasi/src/stale_fd.c; its
 * expected answers are those of tests/wasi/src/stale_fd.json.
 */
import assert from "node:assert/strict";
import { type Json, withLab } from "./support/container.ts";
import { program, root, testWith } from "./support/requires.ts";
import { compile, missingTools, SRC } from "./wasi/build.ts";
import { withRootless } from "./wasm/rootless.ts";

const tools = missingTools();

/** The guest's answers for every call through a stale descriptor, as the WASI case expects. */
function expectedStaleLines(): string[] {
  const c = JSON.parse(Deno.readTextFileSync(`${SRC}/stale_fd.json`));
  return (c.expect.stdout as string).split("\n").filter((l) => l.startsWith("stale "));
}

/** The host tree the symlinks point at: nobody's secrets and things to remove or rename. */
function makeOutside(dir: string): { outside: string; secrets: string[] } {
  const outside = `${dir}/outside`;
  const secrets = [`secret-${crypto.randomUUID()}`, `secret2-${crypto.randomUUID()}`];
  Deno.mkdirSync(`${outside}/victimdir`, { recursive: true });
  Deno.mkdirSync(`${outside}/q`);
  Deno.writeTextFileSync(`${outside}/secret`, secrets[0]!, { mode: 0o600 });
  Deno.writeTextFileSync(`${outside}/q/secret2`, secrets[1]!, { mode: 0o600 });
  Deno.writeTextFileSync(`${outside}/victim`, "victim");
  Deno.chmodSync(`${outside}/secret`, 0o600);
  Deno.chmodSync(`${outside}/q/secret2`, 0o600);
  return { outside, secrets };
}

/**
 * What an escape would change in a tree: names, modes, sizes, link counts (a hard link out),
 * modification times (an entry made, removed or renamed; times set) and contents. (Not ctime:
 * the runs' chown touches it.)
 */
function snapshot(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${dir}${rel}`)) {
      const path = `${rel}/${e.name}`;
      const st = Deno.lstatSync(`${dir}${path}`);
      out[path] = {
        mode: st.mode,
        size: st.size,
        nlink: st.nlink,
        mtime: st.mtime?.getTime(),
        text: st.isFile ? Deno.readTextFileSync(`${dir}${path}`) : undefined,
      };
      if (st.isDirectory) walk(path);
    }
  };
  out["/"] = { mtime: Deno.lstatSync(dir).mtime?.getTime() };
  walk("");
  return out;
}

/** What the guest printed proves the attack failed everywhere. */
function assertNoEscape(stdout: string, secrets: string[]): void {
  for (const s of secrets) assert.ok(!stdout.includes(s), "a secret was read");
  const got = stdout.split("\n").filter((l) => l.startsWith("stale "));
  assert.deepEqual(got, expectedStaleLines(), stdout);
  // Host directories were not listed: every fd_readdir through a stale descriptor failed.
  assert.deepEqual(
    got.filter((l) => l.includes("fd_readdir")),
    ["stale d: fd_readdir: ENOENT", "stale p/q: fd_readdir: ENOENT"],
  );
}

function guestRootfs(rootfs: string): void {
  Deno.writeFileSync(`${rootfs}/stale_fd.wasm`, Deno.readFileSync(compile(`${SRC}/stale_fd.c`)));
  Deno.writeTextFileSync(`${rootfs}/file`, "root file");
  Deno.writeTextFileSync(`${rootfs}/file2`, "root file 2");
}

testWith(
  "wasm escape: a stale fd reaches nothing outside the rootless sandbox (run as nobody)",
  [root(), tools, program("setpriv")],
  () =>
    withRootless(async ({ dir, denki }) => {
      const { outside, secrets } = makeOutside(dir);
      Deno.mkdirSync(`${dir}/bundle/rootfs`, { recursive: true });
      guestRootfs(`${dir}/bundle/rootfs`);
      const config: Json = {
        ociVersion: "1.0.2",
        root: { path: "rootfs" },
        process: {
          cwd: "/",
          // The symlinks' target is the host path of the outside tree; "none": no check dir.
          args: ["/stale_fd.wasm", outside, "none"],
          env: [],
          user: { uid: 0, gid: 0 },
        },
      };
      Deno.writeTextFileSync(`${dir}/bundle/config.json`, JSON.stringify(config));
      // As nobody (the owner of the secrets) the host itself would let the guest read them.
      await new Deno.Command("chown", { args: ["-R", "65534:65534", dir] }).output();
      const before = snapshot(outside);
      const r = await denki(["run", "--bundle", `${dir}/bundle`, "escape"]);
      assert.equal(r.code, 0, r.stderr);
      assertNoEscape(r.stdout, secrets);
      assert.deepEqual(snapshot(outside), before, "the outside tree changed");
      // Nothing of the outside tree was linked or moved into the root either.
      const names = [...Deno.readDirSync(`${dir}/bundle/rootfs`)].map((e) => e.name).sort();
      assert.deepEqual(names, ["d", "f", "file", "file2", "p", "r", "stale_fd.wasm"]);
      assert.equal(Deno.readLinkSync(`${dir}/bundle/rootfs/d`), outside);
    }),
);

testWith(
  "wasm escape: the same guest in a rootful container reaches nothing outside either",
  [root(), tools],
  () =>
    withLab(async (lab) => {
      const { outside, secrets } = makeOutside(lab.dir);
      const b = lab.bundle((c) => {
        c.process.args = ["/stale_fd.wasm", outside, "none"];
        c.process.env = [];
        c.root.readonly = false;
      }, guestRootfs);
      const before = snapshot(outside);
      const r = await lab.denki(["run", "--bundle", b.dir, "escape"]);
      assert.equal(r.code, 0, r.stderr);
      assertNoEscape(r.stdout, secrets);
      assert.deepEqual(snapshot(outside), before, "the outside tree changed");
      assert.deepEqual(lab.containers(), []);
    }),
);
