/**
 * process.rlimits for Wasm guests, end to end (see executors/wasm/limits.ts): tight limits that
 * would break the runtime if set on its own process (RLIMIT_AS 1 GiB, RLIMIT_NOFILE 64,
 * RLIMIT_NPROC 50) still let a guest run and print its marker, and a guest that goes past a
 * limit the host enforces sees the failure: malloc returns NULL (RLIMIT_AS), open fails with
 * EMFILE (RLIMIT_NOFILE), write with EFBIG (RLIMIT_FSIZE), and RLIMIT_CPU ends it. In the
 * rootless sandbox (as nobody) and in rootful containers.
 */
import assert from "node:assert/strict";
import { type Json, type Lab, withLab } from "./support/container.ts";
import { program, type Requirement, root, testWith } from "./support/requires.ts";
import { compile, missingTools } from "./wasi/build.ts";
import { type Rootless, withRootless } from "./wasm/rootless.ts";

const HERE = new URL(".", import.meta.url).pathname;
const tools = missingTools();
const GIB = 1 << 30;
const MIB = 1 << 20;

type Rlimit = { type: string; soft: number; hard: number };
const limit = (type: string, soft: number, hard = soft): Rlimit => ({ type, soft, hard });

/** The limits issue 12's hostile matrix uses, plus a stack limit. */
const TIGHT = [
  limit("RLIMIT_AS", GIB),
  limit("RLIMIT_NOFILE", 64),
  limit("RLIMIT_NPROC", 50),
  limit("RLIMIT_STACK", 8 * MIB),
];

let probe: Uint8Array | undefined;
function probeModule(): Uint8Array {
  probe ??= Deno.readFileSync(compile(`${HERE}wasm/probe.c`));
  return probe;
}

/** Runs the probe with `args` under `rlimits`: rootless (as nobody) or rootful. */
type Runner = (args: string[], rlimits: Rlimit[], id: string) => Promise<{
  code: number;
  stdout: string;
  stderr: string;
  rootfs: string;
}>;

function rootless(r: Rootless): Runner {
  Deno.mkdirSync(`${r.dir}/bundle/rootfs`, { recursive: true });
  Deno.writeFileSync(`${r.dir}/bundle/rootfs/probe.wasm`, probeModule());
  return async (args, rlimits, id) => {
    const config: Json = {
      ociVersion: "1.0.2",
      root: { path: "rootfs" },
      process: {
        cwd: "/",
        args: ["/probe.wasm", ...args],
        env: [],
        user: { uid: 0, gid: 0 },
        rlimits,
      },
    };
    Deno.writeTextFileSync(`${r.dir}/bundle/config.json`, JSON.stringify(config));
    const res = await r.denki(["run", "--bundle", `${r.dir}/bundle`, id]);
    return { ...res, rootfs: `${r.dir}/bundle/rootfs` };
  };
}

function rootful(lab: Lab): Runner {
  return async (args, rlimits, id) => {
    const b = lab.bundle((c) => {
      c.process.args = ["/probe.wasm", ...args];
      c.process.env = [];
      c.process.rlimits = rlimits;
      c.root.readonly = false;
    }, (rootfs) => Deno.writeFileSync(`${rootfs}/probe.wasm`, probeModule()));
    const res = await lab.denki(["run", "--bundle", b.dir, id]);
    return { ...res, rootfs: b.rootfs };
  };
}

/** RLIMIT_AS 1 GiB, RLIMIT_NOFILE 64, RLIMIT_NPROC 50: the guest runs; past the limits it fails. */
async function memoryAndDescriptors(run: Runner): Promise<void> {
  const marker = await run(["args", "ran under tight limits"], TIGHT, "m1");
  assert.equal(marker.code, 0, marker.stderr);
  assert.equal(marker.stdout, "[/probe.wasm]\n[args]\n[ran under tight limits]\n");
  // fd 3 is the root's preopen: the guest gets 4..63, then EMFILE.
  const files = await run(["openmany", "/probe.wasm"], TIGHT, "m2");
  assert.equal(files.code, 0, files.stderr);
  assert.equal(files.stdout, "opened 60 (last fd 63), then: No file descriptors available\n");
  const mem = await run(["alloc"], [limit("RLIMIT_AS", 64 * MIB)], "m3");
  assert.equal(mem.code, 0, mem.stderr);
  const m = /^allocated (\d+) MiB, then malloc failed\n$/.exec(mem.stdout);
  assert.ok(m, mem.stdout);
  assert.ok(Number(m[1]) >= 48 && Number(m[1]) < 64, mem.stdout);
  // RLIMIT_DATA caps the same memory; a module that needs more to start is refused by create.
  const small = await run(["args"], [limit("RLIMIT_DATA", 64 * 1024)], "m4");
  assert.equal(small.code, 1);
  assert.match(
    small.stderr,
    /needs \d+ KiB of memory to start, more than RLIMIT_DATA allows \(64 KiB\)/,
  );
}

/** RLIMIT_FSIZE: a short write to the limit, then EFBIG; the file stops at the limit. */
async function fileSize(run: Runner): Promise<void> {
  const r = await run(["fill", "/big", "5000"], [limit("RLIMIT_FSIZE", 1000)], "f1");
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "wrote 1000 bytes, then: File too large\n");
  assert.equal(Deno.statSync(`${r.rootfs}/big`).size, 1000);
}

/** RLIMIT_CPU ends a guest that spins: SIGXCPU, or SIGKILL for a pid namespace's init. */
async function cpu(run: Runner, status: number): Promise<void> {
  const start = Date.now();
  const r = await run(["spin"], [limit("RLIMIT_CPU", 1, 2)], "c1");
  assert.equal(r.stdout, "spinning\n");
  assert.equal(r.code, status, r.stderr);
  assert.ok(Date.now() - start < 20_000);
}

const ROOTLESS: Requirement[] = [root(), tools, program("setpriv")];

testWith(
  "wasm rlimits: rootless guest under RLIMIT_AS 1 GiB / NOFILE 64; memory and fds capped",
  ROOTLESS,
  () =>
    withRootless(async (r) => {
      const run = rootless(r);
      await memoryAndDescriptors(run);
      assert.deepEqual([...Deno.readDirSync(`${r.dir}/home/denki`)], [], "no state is left");
    }),
);

testWith(
  "wasm rlimits: rootless guest under RLIMIT_FSIZE and RLIMIT_CPU",
  ROOTLESS,
  () =>
    withRootless(async (r) => {
      const run = rootless(r);
      await fileSize(run);
      // Not a pid namespace's init: SIGXCPU at the soft limit ends it (128 + 24).
      await cpu(run, 152);
    }),
);

testWith(
  "wasm rlimits: rootful guest under RLIMIT_FSIZE and RLIMIT_CPU",
  [root(), tools],
  () =>
    withLab(async (lab) => {
      const run = rootful(lab);
      await fileSize(run);
      // PID 1 of its namespace ignores SIGXCPU (no handler): SIGKILL at the hard limit.
      await cpu(run, 137);
      assert.deepEqual(lab.containers(), []);
    }),
);

testWith(
  "wasm rlimits: rootful guest under RLIMIT_AS 1 GiB / NOFILE 64; memory and fds capped",
  [root(), tools],
  () =>
    withLab(async (lab) => {
      await memoryAndDescriptors(rootful(lab));
      assert.deepEqual(lab.containers(), []);
    }),
);
