/**
 * Wasm containers end to end through bin/denki: which bundles go to the Wasm executor, the
 * workload's exact environment, exit codes, traps, signals, mounts and a read-only root, and
 * the rootless sandbox run by an unprivileged user.
 */
import assert from "node:assert/strict";
import { exited, type Json, type Lab, withLab } from "./support/container.ts";
import { program, type Requirement, root, testWith } from "./support/requires.ts";
import { withRootless } from "./wasm/rootless.ts";
import { compile, missingTools } from "./wasi/build.ts";

const HERE = new URL(".", import.meta.url).pathname;
const tools: Requirement = missingTools();
const T = (name: string, fn: () => Promise<void>) => testWith(`wasm: ${name}`, [root(), tools], fn);

let probe: Uint8Array | undefined;
/** The probe guest (tests/wasm/probe.c), built on first use. */
function probeModule(): Uint8Array {
  probe ??= Deno.readFileSync(compile(`${HERE}wasm/probe.c`));
  return probe;
}

/** A Wasm bundle: a rootfs holding only the probe at /probe.wasm, running `probe ...args`. */
function wasmBundle(lab: Lab, args: string[], patch: (c: Json) => void = () => {}) {
  return lab.bundle((c) => {
    c.process.args = ["/probe.wasm", ...args];
    c.process.env = ["PATH=/bin"];
    patch(c);
  }, (rootfs) => Deno.writeFileSync(`${rootfs}/probe.wasm`, probeModule()));
}

async function runProbe(lab: Lab, args: string[], patch?: (c: Json) => void, id = "w1") {
  const b = wasmBundle(lab, args, patch);
  return await lab.denki(["run", "--bundle", b.dir, id]);
}

/** The error message of a failed command (its logfmt line, unquoted). */
function message(r: { stderr: string }): string {
  return r.stderr.replaceAll('\\"', '"');
}

async function status(lab: Lab, id: string): Promise<string | undefined> {
  const r = await lab.denki(["state", id]);
  return r.code === 0 ? JSON.parse(r.stdout).status : undefined;
}

async function waitStatus(lab: Lab, id: string, want: string): Promise<void> {
  const end = Date.now() + 10_000;
  let now: string | undefined;
  while ((now = await status(lab, id)) !== want) {
    if (Date.now() > end) throw new Error(`${id} never became ${want} (it is ${now ?? "gone"})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

T(
  "a module found by its magic bytes runs; args and exit codes pass through",
  () =>
    withLab(async (lab) => {
      const r = await runProbe(lab, ["args", "two words", ""]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "[/probe.wasm]\n[args]\n[two words]\n[]\n");
      const seven = await runProbe(lab, ["exit", "7"], undefined, "w2");
      assert.equal(seven.code, 7, seven.stderr);
      const big = await runProbe(lab, ["exit", "300"], undefined, "w3");
      assert.equal(big.code, 300 & 0xff);
      const b = wasmBundle(lab, ["stdin"]);
      const echo = await lab.denki(["run", "--bundle", b.dir, "w4"], { input: "through stdin\n" });
      assert.equal(echo.stdout, "through stdin\n", echo.stderr);
      assert.deepEqual(lab.containers(), [], "run deletes the container after it exits");
    }),
);

T(
  "the workload's environment is exactly process.env: no host variable, order and duplicates kept",
  () =>
    withLab(async (lab) => {
      const b = wasmBundle(lab, ["env"], (c) => {
        c.process.env = ["B=2", "A=1", "A=3", "EMPTY=", "PATH=/bin"];
      });
      const r = await lab.denki(["run", "--bundle", b.dir, "w1"], {
        env: { DENKI_TEST_SECRET: "hunter2", HOME: "/root" },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "B=2\nA=1\nA=3\nEMPTY=\nPATH=/bin\n");
      assert.doesNotMatch(r.stdout, /hunter2/);
    }),
);

T("a trap ends the container with 134 and says so on stderr", () =>
  withLab(async (lab) => {
    const r = await runProbe(lab, ["trap"]);
    assert.equal(r.code, 134);
    assert.match(r.stderr, /wasm trap: .*unreachable/);
  }));

T(
  "selection by annotation and PATH lookup; a missing or bad module fails create cleanly",
  () =>
    withLab(async (lab) => {
      const byPath = lab.bundle((c) => {
        c.process.args = ["probe", "args"];
        c.process.env = ["PATH=/usr/bin:/bin"];
        c.annotations = { "run.oci.handler": "wasm" };
      }, (rootfs) => {
        Deno.mkdirSync(`${rootfs}/bin`);
        Deno.writeFileSync(`${rootfs}/bin/probe`, probeModule());
      });
      const ok = await lab.denki(["run", "--bundle", byPath.dir, "w1"]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "[probe]\n[args]\n");

      const missing = lab.bundle((c) => {
        c.process.args = ["/nope.wasm"];
        c.annotations = { "module.wasm.image/variant": "compat" };
      }, () => {});
      const m = await lab.denki(["create", "--bundle", missing.dir, "w2"]);
      assert.equal(m.code, 1);
      assert.match(message(m), /wasm module "\/nope\.wasm" not found in the container/);

      const garbage = wasmBundle(lab, []);
      Deno.writeFileSync(`${garbage.rootfs}/probe.wasm`, new Uint8Array([0, 0x61, 0x73, 0x6d, 9]));
      const g = await lab.denki(["create", "--bundle", garbage.dir, "w3"]);
      assert.equal(g.code, 1);
      assert.match(message(g), /wasm module "\/probe\.wasm" is not valid/);

      const foreign = wasmBundle(lab, []);
      Deno.writeFileSync(
        `${foreign.rootfs}/probe.wasm`,
        Deno.readFileSync(compile(`${HERE}wasm/foreign.wat`)),
      );
      const f = await lab.denki(["create", "--bundle", foreign.dir, "w4"]);
      assert.equal(f.code, 1);
      assert.match(message(f), /imports env\.launch_missiles, which denki does not provide/);
      assert.deepEqual(lab.containers(), [], "a refused create leaves no state");
    }),
);

T(
  "a read-only root refuses writes; bind mounts are writable or read-only as configured",
  () =>
    withLab(async (lab) => {
      const data = `${lab.dir}/data`;
      const ro = `${lab.dir}/ro`;
      Deno.mkdirSync(data);
      Deno.mkdirSync(ro);
      Deno.writeTextFileSync(`${ro}/given.txt`, "from the host");
      const patch = (c: Json) => {
        c.root.readonly = true;
        c.mounts.push(
          { destination: "/data", type: "bind", source: data, options: ["rbind", "rw"] },
          { destination: "/ro", type: "bind", source: ro, options: ["rbind", "ro"] },
        );
      };
      const root = await runProbe(lab, ["write", "/x", "no"], patch, "w1");
      assert.equal(root.code, 1);
      assert.equal(root.stdout, "write /x: Read-only file system\n");
      const rw = await runProbe(lab, ["write", "/data/out.txt", "kept"], patch, "w2");
      assert.equal(rw.code, 0, rw.stderr);
      assert.equal(Deno.readTextFileSync(`${data}/out.txt`), "kept");
      const cat = await runProbe(lab, ["cat", "/ro/given.txt"], patch, "w3");
      assert.equal(cat.stdout, "from the host");
      const denied = await runProbe(lab, ["write", "/ro/given.txt", "no"], patch, "w4");
      assert.equal(denied.stdout, "write /ro/given.txt: Read-only file system\n");
      assert.equal(Deno.readTextFileSync(`${ro}/given.txt`), "from the host");
    }),
);

T("create, start, state, SIGKILL and delete of a Wasm container", () =>
  withLab(async (lab) => {
    const b = wasmBundle(lab, ["sleep", "60"]);
    const c = await lab.denki(["create", "--bundle", b.dir, "w1"]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(await status(lab, "w1"), "created");
    const pid = JSON.parse((await lab.denki(["state", "w1"])).stdout).pid as number;
    assert.equal((await lab.denki(["start", "w1"])).code, 0);
    assert.equal(await status(lab, "w1"), "running");
    assert.equal((await lab.denki(["kill", "w1", "KILL"])).code, 0);
    await waitStatus(lab, "w1", "stopped");
    assert.ok(await exited(pid), "the container process is gone");
    assert.equal((await lab.denki(["delete", "w1"])).code, 0);
    assert.deepEqual(lab.containers(), []);
  }));

T("SIGTERM stops a running guest: run exits 143", () =>
  withLab(async (lab) => {
    const b = wasmBundle(lab, ["sleep", "60"]);
    const running = lab.denki(["run", "--bundle", b.dir, "w1"]);
    await waitStatus(lab, "w1", "running");
    assert.equal((await lab.denki(["kill", "w1", "TERM"])).code, 0);
    const r = await running;
    assert.equal(r.code, 143, r.stderr);
    assert.deepEqual(lab.containers(), []);
  }));

testWith("wasm: an unprivileged user runs a Wasm bundle in the rootless sandbox", [
  root(),
  tools,
  program("setpriv"),
], () =>
  withRootless(async ({ dir, denki }) => {
    Deno.mkdirSync(`${dir}/bundle/rootfs`, { recursive: true });
    Deno.writeFileSync(`${dir}/bundle/rootfs/probe.wasm`, probeModule());
    const host = `${dir}/host-only.txt`;
    Deno.writeTextFileSync(host, "the host's file");
    const config: Json = {
      ociVersion: "1.0.2",
      root: { path: "rootfs" },
      process: { cwd: "/", args: ["/probe.wasm"], env: ["WHO=guest"], user: { uid: 0, gid: 0 } },
    };
    const as = async (args: string[], tweak: (c: Json) => void = () => {}) => {
      const c = structuredClone(config);
      tweak(c);
      Deno.writeTextFileSync(`${dir}/bundle/config.json`, JSON.stringify(c));
      return await denki(args);
    };
    const env = await as(["run", "--bundle", `${dir}/bundle`, "r1"], (c) => {
      c.process.args.push("env");
    });
    assert.equal(env.code, 0, env.stderr);
    assert.equal(env.stdout, "WHO=guest\n");
    // The guest's root is the rootfs: host paths are not there, and writes land in the rootfs.
    const escape = await as(["run", "--bundle", `${dir}/bundle`, "r2"], (c) => {
      c.process.args.push("cat", host);
    });
    assert.equal(escape.code, 1);
    assert.match(escape.stdout, /No such file or directory/);
    const write = await as(["run", "--bundle", `${dir}/bundle`, "r3"], (c) => {
      c.process.args.push("write", "/made.txt", "by the guest");
    });
    assert.equal(write.code, 0, write.stderr);
    assert.equal(Deno.readTextFileSync(`${dir}/bundle/rootfs/made.txt`), "by the guest");
    // A Linux workload needs root.
    Deno.writeTextFileSync(`${dir}/bundle/rootfs/sh`, "#!/bin/sh\n");
    Deno.chmodSync(`${dir}/bundle/rootfs/sh`, 0o755);
    const linux = await as(["run", "--bundle", `${dir}/bundle`, "r4"], (c) => {
      c.process.args = ["/sh"];
    });
    assert.equal(linux.code, 1);
    assert.match(linux.stderr, /containers need root/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/home/denki`)], [], "no state is left");
  }));
