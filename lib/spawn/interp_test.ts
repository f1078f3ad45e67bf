import assert from "node:assert/strict";
import * as sc from "../sys/syscalls.ts";
import { syscallNumber } from "../sys/nr.ts";
import { interpret } from "./interp.ts";
import { Script } from "./script.ts";
import { launchStage } from "./stage.ts";

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function drain(fd: number): string {
  const chunks: number[] = [];
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = sc.read(fd, buf);
    if (n === 0) break;
    chunks.push(...buf.subarray(0, n));
  }
  return new TextDecoder().decode(new Uint8Array(chunks));
}

type Build = (s: Script, fd: number) => void;

/** Runs a script in the native stage and in the interpreter; what each wrote, and its status. */
async function both(build: Build, text = false) {
  const results = [];
  for (const how of ["native", "interpreted"]) {
    const [mine, theirs] = sc.socketpair();
    sc.setCloexec(mine, true);
    const s = new Script(Deno.build.arch);
    build(s, theirs);
    const bytes = s.build({ fd: theirs, failCode: 99, text });
    let code = 0;
    if (how === "native") {
      const pid = launchStage(bytes);
      sc.close(theirs);
      code = (await sc.waitChild(pid)).code;
    } else {
      try {
        await interpret(bytes, {
          special: (kind, payload) => {
            if (kind === "boom") throw new Error(payload);
            sc.writeAll(theirs, new TextEncoder().encode(`[${kind}:${payload}]`));
            return Promise.resolve();
          },
          write: (fd, line) => sc.writeAll(fd, new TextEncoder().encode(line)),
          exit: (c) => {
            throw new Exit(c);
          },
          cloneNr: syscallNumber("clone"),
        });
      } catch (err) {
        if (!(err instanceof Exit)) throw err;
        code = err.code;
      }
      sc.close(theirs);
    }
    results.push({ out: drain(mine), code });
    sc.close(mine);
  }
  return { native: results[0]!, interpreted: results[1]! };
}

async function same(build: Build, text = false) {
  const r = await both(build, text);
  assert.deepEqual(r.interpreted, r.native);
  return r.native;
}

Deno.test("interpreter and stage agree: calls, expectations, JSON and text failures", async () => {
  assert.deepEqual(
    await same((s, fd) => {
      s.call("write", [fd, s.str("hi "), 3], "write", { expect: 3 });
      s.call("close", [987654], "close a missing fd");
    }),
    { out: 'hi {"type":"stage-fail","step":1,"errno":9}\n', code: 99 },
  );
  assert.deepEqual(
    await same((s) => s.call("close", [987654], "denki init: cannot close fd 987654"), true),
    { out: "denki init: cannot close fd 987654: EBADF (bad file descriptor)\n", code: 99 },
  );
});

Deno.test("interpreter and stage agree: slots, pokes, loads, format, set", async () => {
  const r = await same((s, fd) => {
    const dup = s.slot();
    s.call("fcntl", [fd, 0, 70], "dup", { into: dup });
    const word = s.zeros(8);
    s.poke(dup, word, 64, "keep it");
    const back = s.slot();
    s.load(word, back, "read it back", 64);
    const path = s.format("/proc/self/fd/", back, "its path");
    s.call("write", [fd, path, 16], "write the path", { expect: 16 });
    const copy = s.slot();
    s.set(copy, 5, "five");
    const five = s.format("n=", copy, "five");
    s.call("write", [fd, five, 3], "write five");
    // The interpreter runs in this process: its copy must not keep the socket open.
    s.call("close", [dup], "close the copy");
    s.exit(4);
  });
  assert.match(r.out, /^\/proc\/self\/fd\/\d\dn=5$/);
  assert.equal(r.code, 4);
});

Deno.test("interpreter and stage agree: jumps on error, on success, and labels", async () => {
  const r = await same((s, fd) => {
    const missing = s.label();
    const found = s.label();
    const end = s.label();
    s.call("close", [987654], "close", { onError: missing });
    s.call("write", [fd, s.str("not reached"), 11], "write");
    s.bind(missing);
    s.call("getpid", [], "getpid", { onOk: found });
    s.call("write", [fd, s.str("not reached"), 11], "write");
    s.bind(found);
    s.call("write", [fd, s.str("found"), 5], "write");
    s.jump(end);
    s.call("write", [fd, s.str("skipped"), 7], "write");
    s.bind(end);
    s.exit(2);
  });
  assert.deepEqual(r, { out: "found", code: 2 });
});

Deno.test("interpreter and stage agree: reports change from JSON to text on two fds", async () => {
  const r = await same((s, fd) => {
    s.call("close", [987654], "tolerated", { ok: [9] });
    s.reports(true, fd, fd, 7);
    s.fail(2, "denki init: a step that fails");
  });
  const line = "denki init: a step that fails: ENOENT (no such file or directory)\n";
  assert.deepEqual(r, { out: line + line, code: 7 });
});

Deno.test("special steps: the interpreter runs them, the native stage refuses them", async () => {
  const r = await both((s, fd) => {
    s.special("hook", "startContainer", "run a hook");
    s.call("write", [fd, s.str("after"), 5], "write");
    s.special("boom", "the hook said no", "run a failing hook");
  });
  assert.deepEqual(r.native, { out: '{"type":"stage-fail","step":0,"errno":38}\n', code: 99 });
  assert.deepEqual(r.interpreted, {
    out: '[hook:startContainer]after{"type":"stage-fail","step":2,"errno":0,' +
      '"message":"the hook said no"}\n',
    code: 99,
  });
});
