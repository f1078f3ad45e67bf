/**
 * A state root someone else controls. The attacks of issue 11 part 3, performed: another user
 * (`nobody`) who can write the root plants `ID -> a root-only directory` or a forged seccomp
 * cache entry; denki, run as root, must refuse in one line and harm nothing.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS, type Json, type Lab, withLab } from "./support/container.ts";
import { program, testWith } from "./support/requires.ts";
import { compileSeccomp } from "../lib/plan/seccomp/compile.ts";
import { hash64 } from "../lib/linux/seccomp_cache.ts";

const NOBODY = 65534;
const T = (name: string, fn: (lab: Lab) => Promise<void>) =>
  testWith(`state root: ${name}`, [...CONTAINER_REQS, program("setpriv")], () => withLab(fn));

/** Runs a command as nobody (the attacker). */
async function asNobody(cmd: string[]): Promise<void> {
  const out = await new Deno.Command("setpriv", {
    args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...cmd],
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

/** A root-only directory with a file in it: what the attacker wants emptied. */
function victim(lab: Lab): { dir: string; intact: () => void } {
  const dir = `${lab.dir}/root-only`;
  Deno.mkdirSync(dir, { mode: 0o700 });
  Deno.writeTextFileSync(`${dir}/precious`, "keep me");
  Deno.mkdirSync(`${dir}/sub`);
  return {
    dir,
    intact: () => {
      assert.equal(Deno.readTextFileSync(`${dir}/precious`), "keep me");
      assert.ok(Deno.statSync(`${dir}/sub`).isDirectory);
    },
  };
}

function oneLine(stderr: string, re: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, re);
}

T("a root others can write is refused; a link planted in it is never followed", async (lab) => {
  const target = victim(lab);
  Deno.mkdirSync(lab.root, { mode: 0o777 });
  Deno.chmodSync(lab.root, 0o777);
  Deno.chmodSync(lab.dir, 0o755);
  await asNobody(["ln", "-s", target.dir, `${lab.root}/c1`]);
  const b = lab.bundle((c: Json) => (c.process.args = ["true"]));
  const refused = new RegExp(
    `refusing state root ${lab.root}: it is writable by group or others \\(mode 777\\)`,
  );
  for (
    const args of [
      ["create", "--bundle", b.dir, "c1"],
      ["delete", "-f", "c1"],
      ["state", "c1"],
      ["kill", "c1", "KILL"],
      ["list"],
    ]
  ) {
    const r = await lab.denki(args);
    assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
    oneLine(r.stderr, refused);
    target.intact();
  }
  Deno.removeSync(`${lab.root}/c1`);
});

T("a root that belongs to another user is refused", async (lab) => {
  Deno.mkdirSync(lab.root, { mode: 0o700 });
  Deno.chownSync(lab.root, NOBODY, NOBODY);
  const b = lab.bundle((c: Json) => (c.process.args = ["true"]));
  const r = await lab.denki(["create", "--bundle", b.dir, "c1"]);
  assert.equal(r.code, 1);
  oneLine(
    r.stderr,
    new RegExp(`refusing state root ${lab.root}: it belongs to uid 65534, not to the caller`),
  );
  assert.deepEqual([...Deno.readDirSync(lab.root)], [], "nothing made in it");
  Deno.chownSync(lab.root, 0, 0);
});

T(
  "in a trusted root, a link or someone's files in a container's place are left alone",
  async (lab) => {
    const target = victim(lab);
    const b = lab.bundle((c: Json) => (c.process.args = ["true"]));
    // A link that got there somehow (say, before the root was made private).
    Deno.mkdirSync(lab.root, { mode: 0o700 });
    Deno.symlinkSync(target.dir, `${lab.root}/c1`);
    for (const args of [["create", "--bundle", b.dir, "c1"], ["delete", "-f", "c1"]]) {
      const r = await lab.denki(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      oneLine(
        r.stderr,
        new RegExp(`refusing state directory ${lab.root}/c1: it is a symbolic link`),
      );
      target.intact();
    }
    Deno.removeSync(`${lab.root}/c1`);
    // A directory without state.json that holds files denki never makes: not a leftover to empty.
    Deno.mkdirSync(`${lab.root}/c2`);
    Deno.writeTextFileSync(`${lab.root}/c2/precious`, "keep me");
    for (const args of [["create", "--bundle", b.dir, "c2"], ["delete", "-f", "c2"]]) {
      const r = await lab.denki(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      oneLine(r.stderr, /refusing to clear state directory .*\/c2: it holds .*precious/);
      assert.equal(Deno.readTextFileSync(`${lab.root}/c2/precious`), "keep me");
    }
    Deno.removeSync(`${lab.root}/c2`, { recursive: true });
  },
);

/** A profile that denies mkdir: what the forged cache entry tries to lift. */
function denyMkdir(): Json {
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: Deno.build.arch === "x86_64"
      ? ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
      : ["SCMP_ARCH_AARCH64"],
    syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }],
  };
}

async function mkdirInContainer(lab: Lab, id: string): Promise<string> {
  const r = await lab.runIn(["sh", "-c", "mkdir /tmp/made && echo made"], (c: Json) => {
    c.root.readonly = false;
    c.linux.seccomp = denyMkdir();
  }, id);
  return r.stdout + r.stderr;
}

T("a forged seccomp cache entry does not replace the profile", async (lab) => {
  // A first container fills the cache with the real program.
  const first = await mkdirInContainer(lab, "s0");
  assert.match(first, /can't create directory '\/tmp\/made': Operation not permitted/);
  const cache = `${lab.root}/@seccomp`;
  const [entry] = [...Deno.readDirSync(cache)];
  const file = `${cache}/${entry!.name}`;
  const real = JSON.parse(Deno.readTextFileSync(file));
  // The forgery: the same key with an allow-all program and a checksum that matches it, so
  // only who wrote the file can give it away.
  const open = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW" }, Deno.build.arch as "x86_64");
  const program = btoa(String.fromCharCode(...open.program));
  const forged = { ...real, program, flags: open.flags, notes: open.notes };
  forged.sum = hash64(
    JSON.stringify([forged.key, forged.program, forged.flags, forged.notify, forged.notes]),
  );
  const plant = (owner: number, mode: number) => {
    Deno.writeTextFileSync(file, JSON.stringify(forged));
    Deno.chownSync(file, owner, owner);
    Deno.chmodSync(file, mode);
  };
  let n = 1;
  for (
    const [owner, mode, what] of [[NOBODY, 0o600, "nobody's"], [0, 0o666, "mode 0666"]] as const
  ) {
    plant(owner, mode);
    const out = await mkdirInContainer(lab, `s${n++}`);
    assert.match(out, /Operation not permitted/, `${what} entry: mkdir must stay denied`);
    assert.doesNotMatch(out, /^made$/m);
  }
  // A link to a forged entry elsewhere.
  Deno.removeSync(file);
  Deno.writeTextFileSync(`${lab.dir}/forged.json`, JSON.stringify(forged), { mode: 0o600 });
  Deno.symlinkSync(`${lab.dir}/forged.json`, file);
  const viaLink = await mkdirInContainer(lab, `s${n++}`);
  assert.match(viaLink, /Operation not permitted/, "linked entry: mkdir must stay denied");
  // The cache directory itself made writable by others: not used.
  plant(0, 0o600);
  Deno.chmodSync(cache, 0o777);
  const openDir = await mkdirInContainer(lab, `s${n++}`);
  assert.match(openDir, /Operation not permitted/, "world-writable cache: mkdir must stay denied");
  // Control: the same entry written as the cache itself writes one is taken, so the checks
  // above are what stopped the forgeries.
  Deno.chmodSync(cache, 0o700);
  plant(0, 0o600);
  assert.match(await mkdirInContainer(lab, `s${n++}`), /^made\n/);
});
