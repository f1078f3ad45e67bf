import assert from "node:assert/strict";
import { DenkiError } from "../errors.ts";
import { Script } from "../spawn/script.ts";
import { launchStage } from "../spawn/stage.ts";
import { sendFd } from "../spawn/steps.ts";
import { initEnd, runtimeEnd } from "../sync.ts";
import * as sc from "../sys/syscalls.ts";
import { encodeMessage, type InitMessage, type RuntimeMessage } from "./messages.ts";

const CLONE_PARENT = 0x8000;
const SIGCHLD = 17;

/** Examples of every message type (the mapped type makes a missing type a compile error). */
const INIT_EXAMPLES: { [T in InitMessage["type"]]: Extract<InitMessage, { type: T }>[] } = {
  hello: [{ type: "hello" }],
  ready: [
    { type: "ready" },
    { type: "ready", notes: [], phases: "" },
    { type: "ready", notes: ["seccomp: 3 rules", "é😀"], phases: "start-up 20ms, rootfs 3ms" },
  ],
  hooks: [{ type: "hooks" }],
  seccompFd: [{ type: "seccompFd" }],
  mount: [
    { type: "mount", made: [], pending: [] },
    {
      type: "mount",
      made: [
        { point: "/proc", id: 812, parent: 27 },
        { point: "/sys/fs/cgroup", id: 813, parent: 812, unique: "18446744073709551615" },
      ],
      pending: [{ point: "/dev", over: 27 }],
    },
  ],
  error: [{ type: "error", message: 'cannot mount "proc" on "/proc": EPERM' }],
  "stage-fail": [
    { type: "stage-fail", step: 12, errno: 1 },
    { type: "stage-fail", step: 0, errno: 0, message: "the hook said no" },
  ],
  "stage-pid": [{ type: "stage-pid", value: 4242 }],
  "stage-userns": [{ type: "stage-userns", value: 4243 }],
};

const RUNTIME_EXAMPLES: { [T in RuntimeMessage["type"]]: Extract<RuntimeMessage, { type: T }>[] } =
  {
    bootstrap: [
      {
        type: "bootstrap",
        config: '{"ociVersion":"1.2.0"}',
        configFile: "/b/config.json",
        bundle: "/b",
        rootfs: "/b/rootfs",
        id: "c1",
        stateDir: "/run/denki/c1",
        noPivot: true,
        noNewKeyring: false,
        preserveFds: 2,
        executor: "wasm",
        sandbox: true,
      },
      {
        type: "bootstrap",
        config: "{}",
        configFile: "/b/config.json",
        bundle: "/b",
        rootfs: "/b/rootfs",
        id: "c2",
        stateDir: "/run/denki/c2",
        noPivot: false,
        noNewKeyring: true,
        preserveFds: 0,
        executor: "linux",
        sandbox: false,
        consoleSocket: 5,
        fifoAttached: true,
      },
    ],
    ok: [{ type: "ok" }],
    abort: [{ type: "abort" }],
    recorded: [{ type: "recorded" }],
  };

/** A runtime end and an init end of one socketpair, closed after `fn`. */
function pair(
  fn: (runtime: ReturnType<typeof runtimeEnd>, init: ReturnType<typeof initEnd>) => void,
): void {
  const [a, b] = sc.socketpair();
  const runtime = runtimeEnd(a);
  const init = initEnd(b);
  try {
    fn(runtime, init);
  } finally {
    runtime.close();
    init.close();
  }
}

const raw = (fd: number, text: string) => sc.writeAll(fd, new TextEncoder().encode(text));

Deno.test("sync messages: every init message round-trips to the runtime", () => {
  pair((runtime, init) => {
    for (const msg of Object.values(INIT_EXAMPLES).flat()) {
      assert.ok(init.send(msg));
      assert.deepEqual(runtime.receive(), msg);
    }
  });
});

Deno.test("sync messages: every runtime message round-trips to the Deno init", () => {
  pair((runtime, init) => {
    for (const msg of Object.values(RUNTIME_EXAMPLES).flat()) {
      assert.ok(runtime.send(msg));
      assert.deepEqual(init.receive(), msg);
    }
  });
});

Deno.test("sync messages: the native stage's exact lines parse into their variants", () => {
  // Byte for byte what lib/spawn/stage.c, lib/spawn/interp.ts and the scripts of
  // lib/linux/native/init.ts and lib/linux/launch.ts write.
  const lines: [string, InitMessage][] = [
    ['{"type":"hello"}\n', { type: "hello" }],
    ['{"type":"hooks"}\n', { type: "hooks" }],
    ['{"type":"seccompFd"}\n', { type: "seccompFd" }],
    ['{"type":"ready"}\n', { type: "ready" }],
    ['{"type":"stage-fail","step":37,"errno":1}\n', { type: "stage-fail", step: 37, errno: 1 }],
    ['{"type":"stage-fail","step":0,"errno":0}\n', { type: "stage-fail", step: 0, errno: 0 }],
    [
      '{"type":"stage-fail","step":2,"errno":0,"message":"the hook said no"}\n',
      { type: "stage-fail", step: 2, errno: 0, message: "the hook said no" },
    ],
    ['{"type":"stage-pid","value":31337}\n', { type: "stage-pid", value: 31337 }],
  ];
  pair((runtime, init) => {
    for (const [line, want] of lines) {
      raw(init.fd, line);
      assert.deepEqual(runtime.receive(), want, line);
    }
    // All at once, as they may arrive in one read.
    raw(init.fd, lines.map(([line]) => line).join(""));
    for (const [line, want] of lines) assert.deepEqual(runtime.receive(), want, line);
  });
  // The script builders write encodeMessage(...): it must give those bytes.
  for (const type of ["hello", "hooks", "seccompFd", "ready"] as const) {
    assert.equal(encodeMessage({ type }), `{"type":"${type}"}\n`);
  }
});

Deno.test("sync messages: what the real native stage writes is received as typed messages", async () => {
  const [mine, theirs] = sc.socketpair();
  const runtime = runtimeEnd(mine);
  try {
    const s = new Script(Deno.build.arch);
    const line = (text: string) => {
      const bytes = new TextEncoder().encode(text);
      s.call("write", [theirs, s.bytes(bytes), bytes.length], "write", { expect: bytes.length });
    };
    // As the native init's script does: hello, hooks, a notify fd, ready.
    line(encodeMessage({ type: "hello" }));
    line(encodeMessage({ type: "hooks" }));
    const devNull = s.slot();
    s.call("openat", [-100, s.str("/dev/null"), 0], "open /dev/null", { into: devNull });
    sendFd(s, theirs, devNull, encodeMessage({ type: "seccompFd" }), "send an fd");
    line(encodeMessage({ type: "ready" }));
    // As the launch stage does: fork, the parent reports the child's pid (stage.c OP_REPORT).
    const pid = s.slot();
    const fork = s.fork(CLONE_PARENT | SIGCHLD, pid, "fork");
    s.exit(42, "the child exits");
    s.parentAt(fork);
    s.report(theirs, "stage-pid", pid, "report the child's pid");
    // Then a failing step: stage.c's own stage-fail line.
    const failing = s.call("close", [987654], "close a missing fd");
    let stage: number;
    try {
      stage = launchStage(s.build({ fd: theirs, failCode: 99, text: false }));
    } finally {
      sc.close(theirs);
    }
    assert.equal((await sc.waitChild(stage)).code, 99);
    assert.deepEqual(runtime.receive(), { type: "hello" });
    assert.deepEqual(runtime.receive(), { type: "hooks" });
    assert.deepEqual(runtime.receive(), { type: "seccompFd" });
    const fds = runtime.takeFds();
    assert.equal(fds.length, 1, "the fd came with the seccompFd message");
    for (const fd of fds) sc.close(fd);
    assert.deepEqual(runtime.receive(), { type: "ready" });
    const reported = runtime.receive();
    assert.equal(reported?.type, "stage-pid");
    assert.ok(reported.value > 0);
    assert.equal((await sc.waitChild(reported.value)).code, 42, "the pid is the forked child's");
    assert.deepEqual(runtime.receive(), { type: "stage-fail", step: failing, errno: 9 });
    assert.equal(runtime.receive(), undefined);
  } finally {
    runtime.close();
  }
});

Deno.test("sync messages: a malformed or unknown message is a one-line error quoting it", () => {
  const long = `{"type":"error","message":${JSON.stringify("x".repeat(500))},"extra":1}`;
  const cases: [string, string][] = [
    ["not json", "not json (not JSON)"],
    ['{"type":"bogus"}', '{"type":"bogus"} (unknown type "bogus")'],
    ["[1,2]", "[1,2] (not a JSON object)"],
    ["null", "null (not a JSON object)"],
    ['{"step":1}', '{"step":1} (no "type" field)'],
    [
      '{"type":"stage-fail","step":"3","errno":1}',
      '{"type":"stage-fail","step":"3","errno":1} ("stage-fail" field "step" is not an integer)',
    ],
    [
      '{"type":"stage-fail","errno":1}',
      '{"type":"stage-fail","errno":1} ("stage-fail" field "step" is missing)',
    ],
    [
      '{"type":"stage-pid","value":1.5}',
      '{"type":"stage-pid","value":1.5} ("stage-pid" field "value" is not an integer)',
    ],
    [
      '{"type":"ready","notes":[1]}',
      '{"type":"ready","notes":[1]} ("ready" field "notes" is not a list of strings)',
    ],
    [
      '{"type":"ready","phases":null}',
      '{"type":"ready","phases":null} ("ready" field "phases" is not a string)',
    ],
    ['{"type":"hello","x":1}', '{"type":"hello","x":1} ("hello" unknown field "x")'],
    [
      '{"type":"mount","made":[{"point":"/proc","id":1}],"pending":[]}',
      '{"type":"mount","made":[{"point":"/proc","id":1}],"pending":[]} ' +
      '("mount" field "made" is not a list of mounts)',
    ],
    [
      '{"type":"mount","made":[]}',
      '{"type":"mount","made":[]} ("mount" field "pending" is missing)',
    ],
    // A runtime message is not one an init sends.
    ['{"type":"ok"}', '{"type":"ok"} (unknown type "ok")'],
    // Long lines are cut to a short prefix; control characters are escaped.
    [long, `${long.slice(0, 80)}... ("error" unknown field "extra")`],
    ["\x1b[31mred\r", "\\u001b[31mred\\u000d (not JSON)"],
  ];
  pair((runtime, init) => {
    for (const [line, shown] of cases) {
      raw(init.fd, line + "\n");
      assert.throws(() => runtime.receive(), (err: Error) => {
        assert.ok(err instanceof DenkiError, line);
        assert.equal(err.message, `container init sent an unexpected message: ${shown}`);
        assert.ok(!/[\n\r]/.test(err.message), "one line");
        return true;
      });
    }
    // The bad lines are gone; the channel goes on with the next one.
    raw(init.fd, '{"type":"hello"}\n');
    assert.deepEqual(runtime.receive(), { type: "hello" });
  });
});

Deno.test("sync messages: the Deno init refuses what only an init sends, naming create", () => {
  pair((runtime, init) => {
    raw(runtime.fd, '{"type":"hello"}\n');
    assert.throws(() => init.receive(), {
      message: 'create sent an unexpected message: {"type":"hello"} (unknown type "hello")',
    });
    raw(runtime.fd, '{"type":"bootstrap","config":"{}"}\n');
    assert.throws(() => init.receive(), {
      message: 'create sent an unexpected message: {"type":"bootstrap","config":"{}"} ' +
        '("bootstrap" field "configFile" is missing)',
    });
  });
});

Deno.test("sync messages: a peer name other than the container init's is used in errors", () => {
  const [a, b] = sc.socketpair();
  const runtime = runtimeEnd(a, "exec process");
  try {
    raw(b, '{"type":"bootstrap"}\n');
    assert.throws(() => runtime.receive(), {
      message: 'exec process sent an unexpected message: {"type":"bootstrap"} ' +
        '(unknown type "bootstrap")',
    });
  } finally {
    runtime.close();
    sc.close(b);
  }
});
