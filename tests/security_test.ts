/**
 * The red-team attacks of issue 11 that target the runtime itself, performed from inside a
 * container (with CAP_SYS_PTRACE, as debug sidecars have) against a copy of Deno, never the
 * machine's own: rewriting the runtime binary through /proc/PID/exe (CVE-2019-5736), and
 * reaching the host's files through the root, cwd and threads of a runtime process a container
 * can see. Each test proves the attacker saw its targets, and that it failed.
 */
import assert from "node:assert/strict";
import { type Bundle, type Json, type Lab, withLab } from "./support/container.ts";
import { exists } from "./support/fs.ts";
import { program, root, testWith } from "./support/requires.ts";

const SOURCE = new URL("./security/attack.c", import.meta.url).pathname;
const HELLO_WASM = new URL("../bundles/hello-wasm/rootfs/hello.wasm", import.meta.url).pathname;
const REQS = [root(), program("busybox"), program("clang-14"), staticLibc()];

function staticLibc(): string | undefined {
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
  return exists(`/usr/lib/${arch}-linux-gnu/libc.a`) ? undefined : "libc6-dev is not installed";
}

let attacker: string | undefined;

/** The attacker program (tests/security/attack.c), built once per test process. */
function attackBinary(): string {
  if (attacker !== undefined) return attacker;
  const dir = Deno.makeTempDirSync({ prefix: "denki-attack-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  const out = new Deno.Command("clang-14", {
    args: ["-static", "-O2", "-o", `${dir}/attack`, SOURCE],
    stderr: "piped",
  }).outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  attacker = `${dir}/attack`;
  return attacker;
}

/** A copy of Deno that only this test's denki runs (the attack's target). */
function denoCopy(lab: Lab): { path: string; env: Record<string, string> } {
  const path = `${lab.dir}/deno`;
  Deno.copyFileSync(Deno.execPath(), path);
  Deno.chmodSync(path, 0o755);
  return { path, env: { DENKI_DENO: path } };
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", Deno.readFileSync(path));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A container with CAP_SYS_PTRACE (a debug sidecar) and the attacker in its rootfs. */
async function podWithAttacker(lab: Lab, env?: Record<string, string>): Promise<Bundle> {
  const b = lab.bundle((c: Json) => {
    c.process.args = ["sleep", "120"];
    c.root.readonly = false;
    for (const set of ["bounding", "effective", "permitted"]) {
      c.process.capabilities[set].push("CAP_SYS_PTRACE");
    }
  });
  Deno.copyFileSync(attackBinary(), `${b.rootfs}/attack`);
  Deno.chmodSync(`${b.rootfs}/attack`, 0o755);
  const r = await lab.denki(["run", "-d", "--bundle", b.dir, "pod"], env ? { env } : {});
  assert.equal(r.code, 0, r.stderr);
  return b;
}

/** Starts the attacker in the pod; it writes what it found to /out, ending with "END". */
async function attack(lab: Lab, args: string[], env?: Record<string, string>): Promise<void> {
  const script = `/attack ${args.join(" ")} >/out 2>&1; echo END >>/out`;
  const r = await lab.denki(["exec", "-d", "pod", "sh", "-c", script], env ? { env } : {});
  assert.equal(r.code, 0, r.stderr);
}

/** The attacker's report, once it is complete. */
async function report(b: Bundle, ms = 20000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    let text = "";
    try {
      text = Deno.readTextFileSync(`${b.rootfs}/out`);
    } catch {
      // not written yet
    }
    if (/^END$/m.test(text)) return text;
    if (Date.now() > end) throw new Error(`the attacker never finished:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function statePid(lab: Lab, id: string): Promise<number> {
  return JSON.parse((await lab.denki(["state", id])).stdout).pid;
}

/** A bundle that joins `pid`'s pid namespace (a pod that shares its process namespace). */
function joiningBundle(lab: Lab, pid: number, args: string[]): Bundle {
  return lab.bundle((c: Json) => {
    c.process.args = args;
    c.linux.namespaces = c.linux.namespaces.map((n: Json) =>
      n.type === "pid" ? { type: "pid", path: `/proc/${pid}/ns/pid` } : n
    );
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

testWith(
  "security: a container sharing a created init's pid namespace cannot rewrite the runtime binary",
  REQS,
  () =>
    withLab(async (lab) => {
      const deno = denoCopy(lab);
      const before = await sha256(deno.path);
      const pod = await podWithAttacker(lab, deno.env);
      const pid = await statePid(lab, "pod");
      // A Linux app's init is the native stage (a sealed memfd, no Deno); a Wasm app's init
      // runs Deno (the binary under attack) until start.
      const app = joiningBundle(lab, pid, ["true"]);
      const wasm = joiningBundle(lab, pid, ["/hello.wasm"]);
      Deno.copyFileSync(HELLO_WASM, `${wasm.rootfs}/hello.wasm`);
      for (const [b, id] of [[app, "app"], [wasm, "wasm"]] as const) {
        const created = await lab.denki(["create", "--bundle", b.dir, id], { env: deno.env });
        assert.equal(created.code, 0, created.stderr);
      }
      // For 6 s the attacker takes an O_PATH fd of /proc/PID/exe of every process it sees
      // (the waiting inits among them) and keeps reopening each for writing: once nothing
      // runs the file, ETXTBSY stops.
      await attack(lab, ["exe", "6"], deno.env);
      await sleep(1500);
      for (const id of ["app", "wasm"]) {
        const start = await lab.denki(["start", id], { env: deno.env });
        assert.equal(start.code, 0, start.stderr);
      }
      const text = await report(pod);
      // The native init's exe is the stage's sealed memfd: nothing of the host's.
      assert.match(text, /^TARGET \/memfd:/m, `the attacker saw the native init:\n${text}`);
      // The Deno init's binary is a read-only bind in its own (now detached) mount tree, so
      // its exe link reads "/": the write that CVE-2019-5736 needs fails with EROFS.
      assert.match(
        text,
        /^DENIED \S+ EROFS$/m,
        `the attacker held the Deno init's binary:\n${text}`,
      );
      assert.doesNotMatch(text, new RegExp(`^TARGET ${deno.path}$`, "m"), text);
      assert.doesNotMatch(text, /^WROTE/m, text);
      assert.equal(await sha256(deno.path), before, "the runtime binary is unchanged");
    }),
);

testWith(
  "security: exec of an image's '#!/proc/self/exe' program never exposes the runtime binary",
  REQS,
  () =>
    withLab(async (lab) => {
      const deno = denoCopy(lab);
      const before = await sha256(deno.path);
      const pod = await podWithAttacker(lab, deno.env);
      // The image's program re-runs whatever executes it (CVE-2019-5736's entry point).
      Deno.writeTextFileSync(`${pod.rootfs}/evil`, "#!/proc/self/exe\n", { mode: 0o755 });
      await attack(lab, ["exe", "6"], deno.env);
      await sleep(300);
      for (let i = 0; i < 3; i++) {
        await lab.denki(["exec", "pod", "/evil"], { env: deno.env });
        const ok = await lab.denki(["exec", "pod", "sh", "-c", "sleep 0.3"], { env: deno.env });
        assert.equal(ok.code, 0, ok.stderr);
      }
      const text = await report(pod);
      assert.match(text, /^TARGET /m, `the attacker saw exec's processes:\n${text}`);
      assert.doesNotMatch(text, new RegExp(`^TARGET ${deno.path}$`, "m"), text);
      assert.doesNotMatch(text, /^WROTE/m, text);
      assert.equal(await sha256(deno.path), before, "the runtime binary is unchanged");
    }),
);

testWith(
  "security: no thread of a runtime process a container sees leads to the host's root or cwd",
  REQS,
  () =>
    withLab(async (lab) => {
      const secret = `${lab.dir}/secret`;
      Deno.writeTextFileSync(secret, "host secret\n");
      const drop = `${lab.dir}/drop`;
      Deno.mkdirSync(drop);
      const pod = await podWithAttacker(lab);
      // An init that waits in "created" in the pod's pid namespace (its set-up, before the
      // root switch, is not part of this test: see the README's Security section).
      const app = joiningBundle(lab, await statePid(lab, "pod"), ["sleep", "1"]);
      assert.equal((await lab.denki(["create", "--bundle", app.dir, "app"])).code, 0);
      // For 6 s the attacker tries every task's root and cwd of every other process: read the
      // host's secret, create a file in a host directory.
      await attack(lab, ["root", "6", secret, drop]);
      await sleep(1500);
      assert.equal((await lab.denki(["start", "app"])).code, 0);
      // Processes `exec` starts in the pod.
      for (let i = 0; i < 5; i++) {
        const e = await lab.denki(["exec", "pod", "sh", "-c", "sleep 0.2"]);
        assert.equal(e.code, 0, e.stderr);
      }
      const text = await report(pod);
      const saw = Number(/^SAW (\d+)$/m.exec(text)?.[1] ?? 0);
      assert.ok(saw > 100, `the attacker looked at tasks:\n${text}`);
      assert.doesNotMatch(text, /^(READ|CREATED)/m, text);
      assert.deepEqual([...Deno.readDirSync(drop)], [], "nothing was created on the host");
    }),
);

testWith(
  "security: a created init a container can see holds no host file open (Deno's caches among them)",
  REQS,
  () =>
    withLab(async (lab) => {
      const pod = await podWithAttacker(lab);
      const pid = await statePid(lab, "pod");
      // A Linux init and a Wasm init, each waiting in "created" in the pod's pid namespace.
      const app = joiningBundle(lab, pid, ["true"]);
      assert.equal((await lab.denki(["create", "--bundle", app.dir, "app"])).code, 0);
      const wasm = joiningBundle(lab, pid, ["/hello.wasm"]);
      Deno.copyFileSync(HELLO_WASM, `${wasm.rootfs}/hello.wasm`);
      // The module is found by its magic bytes: the Wasm executor runs it in the init's Deno.
      const w = await lab.denki(["create", "--bundle", wasm.dir, "wasm"]);
      assert.equal(w.code, 0, w.stderr);
      await attack(lab, ["fds", "2"]);
      const text = await report(pod);
      const files = text.split("\n").filter((l) => l.startsWith("FD /")).map((l) => l.slice(3));
      // What may be open: /dev/null, the exec fifo (reopening it reaches nothing), the
      // init's private procfs ("/": mounted nowhere), the stdio the caller gave, and the
      // attacker's own output file in the pod.
      const allowed = (f: string) =>
        f === "/dev/null" || f === "/" || f.endsWith("/exec.fifo") ||
        /\/denki-out-[^/]+\/(out|err)( \(deleted\))?$/.test(f) || f === "/out";
      assert.ok(files.length > 0, `the attacker saw the inits' fds:\n${text}`);
      assert.deepEqual(files.filter((f) => !allowed(f)), [], text);
    }),
);
