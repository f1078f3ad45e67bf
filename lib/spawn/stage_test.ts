import assert from "node:assert/strict";
import * as sc from "../sys/syscalls.ts";
import { blobModule, compileStage, sha256 } from "./build_stage.ts";
import { Script } from "./script.ts";
import { launchStage, scriptFd, stageBytes } from "./stage.ts";
import { STAGE_SOURCE_SHA256 } from "./stage_blob.ts";

const here = new URL(".", import.meta.url).pathname;
const SIGCHLD = 17;
const CLONE_PARENT = 0x8000;

function hasClang(): boolean {
  try {
    return new Deno.Command("clang-14", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/**
 * Runs a script with one end of a socketpair as `fd`; returns what arrived and the status.
 * `emulate`: run the stage of that architecture under qemu-user instead of this machine's.
 */
async function runScript(
  build: (s: Script, fd: number) => void,
  text = false,
  emulate?: { arch: string; qemu: string; program: string },
): Promise<{ out: string; code: number }> {
  const [mine, theirs] = sc.socketpair();
  sc.setCloexec(mine, true);
  const s = new Script(emulate?.arch ?? Deno.build.arch);
  build(s, theirs);
  let pid: number;
  try {
    const script = s.build({ fd: theirs, failCode: 99, text });
    if (emulate === undefined) pid = launchStage(script);
    else {
      const fd = scriptFd(script);
      try {
        pid = sc.spawn(emulate.qemu, [emulate.qemu, emulate.program, String(fd)], []);
      } finally {
        sc.close(fd);
      }
    }
  } finally {
    sc.close(theirs);
  }
  const status = await sc.waitChild(pid);
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = sc.read(mine, buf);
    if (n === 0) break;
    chunks.push(buf.slice(0, n));
  }
  sc.close(mine);
  const out = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  return { out, code: status.code };
}

Deno.test("stage_blob.ts was built from the current stage.c", async () => {
  const source = Deno.readTextFileSync(`${here}stage.c`);
  assert.equal(STAGE_SOURCE_SHA256, await sha256(source), "run lib/spawn/build_stage.ts");
});

Deno.test({
  name: `stage_blob.ts is what clang-14 builds from stage.c${
    hasClang() ? "" : " [skipped: clang-14 is not installed]"
  }`,
  ignore: !hasClang(),
  fn: async () => {
    const source = `${here}stage.c`;
    const text = Deno.readTextFileSync(source);
    const module = blobModule(
      await sha256(text),
      compileStage(source, "x86_64"),
      compileStage(source, "aarch64"),
    );
    const committed = Deno.readTextFileSync(`${here}stage_blob.ts`);
    const strip = (t: string) => t.replace(/[\s"+;=]/g, "");
    assert.equal(strip(module), strip(committed));
  },
});

Deno.test("stage runs a script's calls in order and exits with its status", async () => {
  const r = await runScript((s, fd) => {
    const a = s.str("one ");
    const b = s.str("two");
    s.call("write", [fd, a, 4], "write one", { expect: 4 });
    s.call("write", [fd, b, 3], "write two");
    s.exit(7);
  });
  assert.deepEqual(r, { out: "one two", code: 7 });
});

Deno.test("a failed step is reported as JSON with its index and errno", async () => {
  const r = await runScript((s) => {
    s.call("getpid", [], "getpid");
    s.call("close", [987654], "close a missing fd");
    s.exit(0);
  });
  assert.equal(r.code, 99);
  assert.deepEqual(JSON.parse(r.out), { type: "stage-fail", step: 1, errno: 9 });
});

Deno.test("tolerated errnos and ignored failures carry on", async () => {
  const r = await runScript((s, fd) => {
    s.call("close", [987654], "close", { ok: [9] });
    s.call("close", [987655], "close", { ignore: true });
    s.call("write", [fd, s.str("ok"), 2], "write");
    s.exit(3);
  });
  assert.deepEqual(r, { out: "ok", code: 3 });
});

Deno.test("a text report names the step and the errno for people", async () => {
  const r = await runScript((s) => {
    s.call("close", [987654], "denki init: cannot close fd 987654");
  }, true);
  assert.equal(r.out, "denki init: cannot close fd 987654: EBADF (bad file descriptor)\n");
  assert.equal(r.code, 99);
});

Deno.test("an unexpected result fails the step", async () => {
  const r = await runScript((s) => {
    s.call("getpid", [], "getpid is 1", { expect: 1 });
  });
  assert.deepEqual(JSON.parse(r.out), { type: "stage-fail", step: 0, errno: 0 });
});

Deno.test("slots carry results into later calls, and pokes write them into data", async () => {
  const r = await runScript((s, fd) => {
    const dup = s.slot();
    s.call("fcntl", [fd, 0, /* F_DUPFD */ 100], "dup", { into: dup });
    const word = s.zeros(8);
    s.poke(dup, word, 64, "keep the fd");
    s.call("write", [dup, word, 8], "write the fd number through the copy");
    s.exit(0);
  });
  const bytes = new TextEncoder().encode(r.out);
  assert.equal(bytes.length, 8);
  assert.ok(new DataView(bytes.buffer).getUint32(0, true) >= 100);
});

Deno.test("end of file exits quietly with the given status", async () => {
  const r = await runScript((s) => {
    const fd = s.slot();
    s.call("openat", [-100, s.str("/dev/null"), 0], "open /dev/null", { into: fd });
    s.call("read", [fd, s.zeros(8), 1], "wait for go", { exitOnEof: 5 });
    s.exit(0);
  });
  assert.deepEqual(r, { out: "", code: 5 });
});

Deno.test("a fork's child carries on, the parent reports its pid; CLONE_PARENT makes it ours", async () => {
  let childPid = 0;
  const r = await runScript((s, fd) => {
    const pid = s.slot();
    const fork = s.fork(CLONE_PARENT | SIGCHLD, pid, "fork");
    s.exit(42, "child exits");
    s.parentAt(fork);
    s.report(fd, "stage-pid", pid, "report the child");
    s.exit(0);
  });
  assert.equal(r.code, 0);
  const msg = JSON.parse(r.out);
  assert.equal(msg.type, "stage-pid");
  childPid = msg.value;
  assert.ok(childPid > 0);
  const status = await sc.waitChild(childPid);
  assert.equal(status.code, 42);
});

Deno.test("a stage started with anything but a script fd exits 127", () => {
  const file = Deno.makeTempFileSync({ prefix: "denki-stage-test-" });
  try {
    Deno.writeFileSync(file, stageBytes(), { mode: 0o700 });
    for (const args of [[], ["x"], ["1", "2"], ["-1"], ["99999"]]) {
      const out = new Deno.Command(file, { args, stdin: "null" }).outputSync();
      assert.equal(out.code, 127, `args ${JSON.stringify(args)}`);
    }
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("argv and env arrays reach execve", async () => {
  const r = await runScript((s, fd) => {
    const script = `printf "%s|%s|%s" "$0" "$1" "$X" >&3`;
    s.call("dup3", [fd, 3, 0], "move the socket to fd 3");
    s.call("execve", [
      s.str("/bin/sh"),
      s.strings(["sh", "-c", script, "zero", "arg one"]),
      s.strings(["X=an env"]),
    ], "execve");
  });
  assert.deepEqual(r, { out: "zero|arg one|an env", code: 0 });
});

Deno.test("a failed execve is reported; the status is the fail code", async () => {
  const r = await runScript((s) => {
    s.call("execve", [s.str("/no/such/program"), s.strings(["x"]), s.strings([])], "exec it");
  }, true);
  assert.equal(r.out, "exec it: ENOENT (no such file or directory)\n");
  assert.equal(r.code, 99);
});

const QEMU = "/usr/bin/qemu-aarch64-static";
const hasQemu = (() => {
  try {
    return Deno.statSync(QEMU).isFile && Deno.build.arch === "x86_64";
  } catch {
    return false;
  }
})();

Deno.test({
  name: `the aarch64 stage runs scripts: calls, slots, a fork, a failure report (qemu-user)${
    hasQemu ? "" : " [skipped: qemu-aarch64-static is not installed, or this is not x86_64]"
  }`,
  ignore: !hasQemu,
  fn: async () => {
    const program = Deno.makeTempFileSync({ prefix: "denki-stage-aarch64-" });
    try {
      Deno.writeFileSync(program, stageBytes("aarch64"), { mode: 0o700 });
      const emulate = { arch: "aarch64", qemu: QEMU, program };
      const ok = await runScript(
        (s, fd) => {
          const dup = s.slot();
          s.call("fcntl", [fd, 0, /* F_DUPFD */ 50], "dup", { into: dup });
          s.call("write", [dup, s.str("arm64 "), 6], "write", { expect: 6 });
          const pid = s.slot();
          const fork = s.fork(SIGCHLD, pid, "fork");
          s.exit(0, "child exits");
          s.parentAt(fork);
          s.report(fd, "value", pid, "report");
          s.exit(6);
        },
        false,
        emulate,
      );
      assert.equal(ok.code, 6);
      assert.match(ok.out, /^arm64 \{"type":"value","value":\d+\}\n$/);
      const failed = await runScript(
        (s) => {
          s.call("close", [987654], "denki init: cannot close fd 987654");
        },
        true,
        emulate,
      );
      assert.deepEqual(failed, {
        out: "denki init: cannot close fd 987654: EBADF (bad file descriptor)\n",
        code: 99,
      });
    } finally {
      Deno.removeSync(program);
    }
  },
});
