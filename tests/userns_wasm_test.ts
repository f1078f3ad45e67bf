/**
 * The Wasm executor in a user namespace (issue 16). The Deno init runs as the namespace's root:
 * root maps 0 to 100000 and the hello bundle's guest prints its greeting and exactly its
 * config's environment, while the init, caught between create and start, shows the map in its
 * /proc files; a user who is not root runs the same guest with its own uid mapped to 0, and
 * nothing of it is left afterwards; the hostile matrix's Wasm checks (tight and containers-common
 * seccomp, no_new_privs, tight rlimits) pass in a user namespace, and a file the guest writes
 * through WASI belongs to the namespace's root on the host. A Linux container whose init is Deno
 * (a createContainer hook) takes the same route and runs too.
 */
import assert from "node:assert/strict";
import { bundle as buildBundle } from "../bin/bundle.ts";
import { defaultSpec } from "../lib/spec/default.ts";
import { CONTAINER_REQS, type Json, type Lab, withLab } from "./support/container.ts";
import { LAUNCHER, run } from "./support/denki.ts";
import { CONFIGS, type Hostile, hostileReqs, patch } from "./support/hostile.ts";
import { wasmCannotRun, wasmChecks } from "./support/hostile_wasm.ts";
import { program, type Requirement, root, testWith } from "./support/requires.ts";
import { pidsOfUid, type TestUser, withTestUser } from "./support/users.ts";
import { freshId, makeRuntime, type Runtime, Scratch, waitFor } from "./conformance/runtime.ts";
import { compile, missingTools } from "./wasi/build.ts";

const HOST_ROOT = 100000;
const MAP = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];
const HELLO = new URL("../bundles/hello-wasm/rootfs/hello.wasm", import.meta.url).pathname;
const GREETING = "Hello from a denki Wasm container. My environment:\n";
const dec = new TextDecoder();

let bundled: Promise<void> | undefined;
/**
 * A fresh bin/.bundle, once per test process: from source, the init would bundle its Wasm
 * worker on the spot with a Deno cache the namespace's root cannot read.
 */
function freshBundle(): Promise<void> {
  bundled ??= buildBundle();
  return bundled;
}

/** The hello guest's environment: the bundle's own, and a marker no earlier run left. */
function helloEnv(): string[] {
  return ["GREETING=hello", "LANG=C.UTF-8", `USERNS_MARK=${crypto.randomUUID().slice(0, 8)}`];
}

/** What the hello guest prints with `env`. */
function helloOutput(env: readonly string[]): string {
  return GREETING + env.map((e) => `${e}\n`).join("");
}

function chownR(path: string, id: number): void {
  const out = new Deno.Command("chown", { args: ["-R", `${id}:${id}`, path] }).outputSync();
  if (!out.success) throw new Error(`chown ${path}: ${dec.decode(out.stderr)}`);
}

/** Adds a new user namespace mapping 0..65535 to 100000.. */
function userns(c: Json): void {
  c.linux.namespaces.push({ type: "user" });
  c.linux.uidMappings = MAP;
  c.linux.gidMappings = MAP;
}

/** A /proc map file's lines with their columns single-spaced. */
function mapOf(pid: number, file: string): string {
  return Deno.readTextFileSync(`/proc/${pid}/${file}`).trim().split("\n")
    .map((l) => l.trim().split(/\s+/).join(" ")).join("\n");
}

/** The real, effective, saved and fs uids of `pid` on the host. */
function uidsOf(pid: number): string {
  return /^Uid:\s+(.*)$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1]?.trim()
    .split(/\s+/).join(" ") ?? "";
}

/** The shell line that runs a command with stdin from /dev/null and stdout, stderr to $OUT, $ERR. */
const TO_FILES = 'exec "$0" "$@" </dev/null >"$OUT" 2>"$ERR"';

/**
 * `create` with the container's stdio going to `out` (kept: the guest writes there after
 * `start`), as root with the lab's state root.
 */
async function createTo(lab: Lab, bundleDir: string, id: string, out: string) {
  const r = await run(
    ["-c", TO_FILES, LAUNCHER, "--root", lab.root, "create", "--bundle", bundleDir, id],
    { program: "/bin/sh", env: { OUT: out, ERR: `${out}.err` } },
  );
  return { code: r.code, stderr: Deno.readTextFileSync(`${out}.err`) };
}

async function stateOf(
  denki: (args: string[]) => Promise<{ code: number; stdout: string }>,
  id: string,
) {
  const r = await denki(["state", id]);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

testWith(
  "wasm in a user namespace: the hello guest runs as the namespace's root (0 -> 100000)",
  CONTAINER_REQS,
  () =>
    withLab(async (lab) => {
      await freshBundle();
      // The namespace's root is "other" to the host's directories: the bundle's must let it pass.
      Deno.chmodSync(lab.dir, 0o755);
      const env = helloEnv();
      const b = lab.bundle((c) => {
        c.process.args = ["/hello.wasm"];
        c.process.env = env;
        userns(c);
      }, (rootfs) => Deno.copyFileSync(HELLO, `${rootfs}/hello.wasm`));
      chownR(b.rootfs, HOST_ROOT);
      const r = await lab.denki(["run", "--bundle", b.dir, "uw1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, helloOutput(env));

      // Created but not started: the init (Deno, the Wasm host) is in the namespace.
      const out = `${lab.dir}/uw2.out`;
      const c = await createTo(lab, b.dir, "uw2", out);
      assert.equal(c.code, 0, c.stderr);
      const { pid, status } = await stateOf((a) => lab.denki(a), "uw2");
      assert.equal(status, "created");
      assert.equal(mapOf(pid, "uid_map"), `0 ${HOST_ROOT} 65536`);
      assert.equal(mapOf(pid, "gid_map"), `0 ${HOST_ROOT} 65536`);
      assert.equal(uidsOf(pid), Array(4).fill(HOST_ROOT).join(" "));
      assert.notEqual(
        Deno.readLinkSync(`/proc/${pid}/ns/user`),
        Deno.readLinkSync("/proc/self/ns/user"),
      );
      assert.equal((await lab.denki(["start", "uw2"])).code, 0);
      await waitFor(
        async () => (await stateOf((a) => lab.denki(a), "uw2"))?.status === "stopped",
        10_000,
      );
      assert.equal(Deno.readTextFileSync(out), helloOutput(env));
      assert.equal((await lab.denki(["delete", "uw2"])).code, 0);
      assert.deepEqual(lab.containers(), []);
    }),
);

testWith(
  "user namespace: a Linux container whose init is Deno (a createContainer hook) runs too",
  CONTAINER_REQS,
  () =>
    withLab(async (lab) => {
      Deno.chmodSync(lab.dir, 0o755);
      const b = lab.bundle((c) => {
        c.process.args = ["sh", "-c", "id -u; cat /proc/self/uid_map; echo deno-init-marker"];
        c.hooks = { createContainer: [{ path: "/bin/true" }] };
        userns(c);
      });
      chownR(b.rootfs, HOST_ROOT);
      const r = await lab.denki(["--debug", "run", "--bundle", b.dir, "uh1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Deno init: hooks run inside the container/);
      const lines = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
      assert.deepEqual(lines, ["0", `0 ${HOST_ROOT} 65536`, "deno-init-marker"]);
    }),
);

const USER_REQS: Requirement[] = [
  root(),
  program("useradd"),
  program("userdel"),
  program("setpriv"),
];

/** A rootless hello bundle in the user's home: its uid and gid mapped to 0, nothing more. */
function rootlessHello(u: TestUser, env: readonly string[]): string {
  const dir = `${u.home}/hello`;
  Deno.mkdirSync(`${dir}/rootfs`, { recursive: true });
  Deno.copyFileSync(HELLO, `${dir}/rootfs/hello.wasm`);
  const c: Json = JSON.parse(
    JSON.stringify(defaultSpec({ rootless: true, uid: u.uid, gid: u.gid })),
  );
  c.process.terminal = false;
  c.process.args = ["/hello.wasm"];
  c.process.env = env;
  Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(c, null, 2));
  chownR(u.home, u.uid);
  return dir;
}

testWith(
  "wasm in a user namespace, rootless: a user maps its own uid to 0 and runs the hello guest",
  USER_REQS,
  async () => {
    await freshBundle();
    await withTestUser(async (u) => {
      const env = helloEnv();
      const dir = rootlessHello(u, env);
      const denki = (args: string[]) =>
        u.run(LAUNCHER, args, { env: { DENKI_DENO: Deno.execPath() } });
      const r = await denki(["run", "--bundle", dir, "rw1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, helloOutput(env));

      const out = `${u.home}/rw2.out`;
      const c = await u.run(
        "/bin/sh",
        ["-c", TO_FILES, LAUNCHER, "create", "--bundle", dir, "rw2"],
        {
          env: { DENKI_DENO: Deno.execPath(), OUT: out, ERR: `${out}.err` },
        },
      );
      assert.equal(c.code, 0, Deno.readTextFileSync(`${out}.err`));
      const { pid, status } = await stateOf(denki, "rw2");
      assert.equal(status, "created");
      assert.equal(mapOf(pid, "uid_map"), `0 ${u.uid} 1`);
      assert.equal(mapOf(pid, "gid_map"), `0 ${u.gid} 1`);
      assert.equal(mapOf(pid, "setgroups"), "deny");
      assert.equal(uidsOf(pid), Array(4).fill(u.uid).join(" "));
      assert.equal((await denki(["start", "rw2"])).code, 0);
      await waitFor(async () => (await stateOf(denki, "rw2"))?.status === "stopped", 10_000);
      assert.equal(Deno.readTextFileSync(out), helloOutput(env));
      const del = await denki(["delete", "rw2"]);
      assert.equal(del.code, 0, del.stderr);
      // Nothing left: no state entry, no process of the user's.
      assert.deepEqual([...Deno.readDirSync(`${u.runtimeDir}/denki`)].map((e) => e.name), []);
      await waitFor(() => pidsOfUid(u.uid).length === 0, 5000);
    });
  },
);

/**
 * A scratch whose bundles have a user namespace (0 -> 100000) and a rootfs the namespace's
 * root owns; its directories let that root pass.
 */
class UsernsScratch extends Scratch {
  constructor(rt: Runtime) {
    super(rt);
    Deno.chmodSync(this.dir, 0o755);
  }

  override bundle(patch: (c: Json) => void = () => {}) {
    const b = super.bundle((c) => {
      patch(c);
      userns(c);
    });
    chownR(b.rootfs, HOST_ROOT);
    return b;
  }
}

const roots = Deno.makeTempDirSync({ prefix: "denki-userns-wasm-" });
globalThis.addEventListener("unload", () => Deno.removeSync(roots, { recursive: true }));
const matrix = makeRuntime("denki", `${roots}/denki`);
const wasmTools: Requirement = missingTools();
let probe: Uint8Array | undefined;

/** The probe guest (tests/wasm/probe.c), built on first use. */
function probeModule(): Uint8Array {
  probe ??= Deno.readFileSync(compile(new URL("./wasm/probe.c", import.meta.url).pathname));
  return probe;
}

function cells(h: Hostile) {
  return Object.entries(wasmChecks(h));
}

for (const h of CONFIGS) {
  for (const [check, fn] of cells(h)) {
    testWith(
      `wasm in a user namespace under ${h.name}: ${check}`,
      [...CONTAINER_REQS, wasmTools, ...hostileReqs(h)],
      async () => {
        await freshBundle();
        const s = new UsernsScratch(matrix);
        try {
          await fn(matrix, s, h, probeModule());
          // The lifecycle's guest wrote its marker through WASI: as the namespace's root.
          if (check === "wasm lifecycle") {
            assert.equal(Deno.statSync(`${s.shared}/wasm`).uid, HOST_ROOT);
          }
          // A refusal must be the filter's, at the guest's thread: everything before it (the
          // namespace, mounts, credentials) went through.
          if (wasmCannotRun(h)) {
            const b = s.bundle(patch(s, h, ["/probe.wasm", "args", "refused"]));
            Deno.writeFileSync(`${b.rootfs}/probe.wasm`, probeModule());
            const r = await matrix.run(["run", "--bundle", b.dir, freshId()]);
            assert.match(r.stderr, /^denki init: cannot start the Wasm guest's worker thread: /);
          }
        } finally {
          await s.cleanup();
        }
      },
    );
  }
}
