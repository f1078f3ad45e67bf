/**
 * Terminals: `process.terminal` with `create --console-socket` (the master arrives on the
 * socket the way runc sends it), the refusals runc makes, and a foreground `run` that relays
 * the pty to the caller's terminal (driven under util-linux `script`, a real pty).
 */
import assert from "node:assert/strict";
import { acceptUnix, listenUnix, recvWithFds } from "../lib/sys/unix.ts";
import { POLLIN } from "../lib/plan/abi.ts";
import * as sc from "../lib/sys/syscalls.ts";
import { CONTAINER_REQS, type Json, type Lab, withLab } from "./support/container.ts";
import { LAUNCHER, run } from "./support/denki.ts";
import { program, testWith } from "./support/requires.ts";

const T = (name: string, fn: () => Promise<void>) =>
  testWith(`terminal: ${name}`, CONTAINER_REQS, fn);
const TS = (name: string, fn: () => Promise<void>) =>
  testWith(`terminal: ${name}`, [...CONTAINER_REQS, program("script")], fn);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (without blocking the event loop) until `fd` is readable; false after `ms`. */
async function readable(fd: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (sc.pollOne(fd, POLLIN, 10) !== 0) return true;
    await sleep(0);
  }
  return false;
}

/** Reads from a pty master until `done(text)` holds; fails with what came after `ms`. */
async function readUntil(fd: number, done: (text: string) => boolean, ms = 10000) {
  let text = "";
  const buf = new Uint8Array(4096);
  const end = Date.now() + ms;
  while (!done(text)) {
    if (Date.now() > end) {
      assert.fail(`timed out reading the terminal; got ${JSON.stringify(text)}`);
    }
    if (!(await readable(fd, 50))) continue;
    const r = sc.tryRead(fd, buf);
    // EIO: the container's end is closed, nothing more will come.
    if (r.errno !== 0 || r.n === 0) break;
    text += new TextDecoder().decode(buf.subarray(0, r.n));
  }
  return text;
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line of error, got ${JSON.stringify(stderr)}`);
  return lines[0]!;
}

const withTerminal = (args: string[], more: (c: Json) => void = () => {}) => (c: Json) => {
  c.process.terminal = true;
  c.process.consoleSize = { height: 33, width: 101 };
  c.process.args = args;
  more(c);
};

/**
 * `create --console-socket` with a receiver here; returns the one fd that came and the text.
 * create's output is a pipe read to its end, as containerd's shim reads it before it starts
 * the container: the init must not keep that pipe open once its stdio is the pty.
 */
async function createWithSocket(lab: Lab, bundle: string, id: string) {
  const path = `${lab.dir}/console.sock`;
  const listener = listenUnix(path);
  try {
    const creating = run([
      "--root",
      lab.root,
      "create",
      "--bundle",
      bundle,
      "--console-socket",
      path,
      id,
    ]);
    assert.ok(await readable(listener, 20000), "create connects to the console socket");
    const conn = acceptUnix(listener);
    try {
      assert.ok(await readable(conn, 20000), "the init sends the master");
      const msg = recvWithFds(conn);
      const created = await Promise.race([creating, sleep(20000).then(() => undefined)]);
      assert.ok(created !== undefined, "create's output pipe reaches its end");
      assert.equal(created.code, 0, created.stderr);
      return { fds: msg.fds, text: new TextDecoder().decode(msg.data) };
    } finally {
      sc.close(conn);
    }
  } finally {
    sc.close(listener);
  }
}

T(
  "create --console-socket: the master arrives, the workload has a sized tty",
  () =>
    withLab(async (lab) => {
      const script = "tty; [ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; stty size; " +
        "stat -c 'console=%t owner=%u:%g' /dev/console; read x; echo got:$x";
      const b = lab.bundle(withTerminal(["sh", "-c", script], (c) => {
        c.process.user = { uid: 1000, gid: 1000 };
      }));
      const { fds, text } = await createWithSocket(lab, b.dir, "c1");
      assert.equal(fds.length, 1, "exactly one descriptor, as go-runc and conmon require");
      assert.equal(text, "/dev/ptmx", "the data runc sends with the master");
      const master = fds[0]!;
      try {
        const started = await lab.denki(["start", "c1"]);
        assert.equal(started.code, 0, started.stderr);
        const out = await readUntil(master, (t) => t.includes("owner="));
        assert.match(out, /^\/dev\/pts\/\d+\r\n/);
        assert.match(out, /stdin-tty\r\nstdout-tty\r\n/);
        assert.match(out, /33 101\r\n/, "consoleSize applied");
        // pts major 136 (0x88) bound on /dev/console; the peer belongs to the process user,
        // its group left to devpts (gid=5).
        assert.match(out, /console=88 owner=1000:5/);
        sc.writeAll(master, new TextEncoder().encode("hello\n"));
        const rest = await readUntil(master, (t) => t.includes("got:hello"));
        assert.match(rest, /got:hello\r\n/);
      } finally {
        sc.close(master);
      }
    }),
);

T(
  "refusals: tty without socket, socket without tty, a missing socket; nothing is left",
  () =>
    withLab(async (lab) => {
      const tty = lab.bundle(withTerminal(["true"]));
      const plain = lab.bundle((c) => (c.process.args = ["true"]));
      const path = `${lab.dir}/listening.sock`;
      const listener = listenUnix(path);
      try {
        const cases: [string[], RegExp][] = [
          [
            ["create", "--bundle", tty.dir, "c1"],
            /cannot allocate tty if denki will detach without setting console socket/,
          ],
          [
            ["run", "-d", "--bundle", tty.dir, "c1"],
            /cannot allocate tty if denki will detach without setting console socket/,
          ],
          [
            ["create", "--bundle", plain.dir, "--console-socket", path, "c1"],
            /cannot use console socket if denki will not detach or allocate tty/,
          ],
          [
            ["run", "--bundle", tty.dir, "--console-socket", path, "c1"],
            /cannot use console socket if denki will not detach or allocate tty/,
          ],
          [
            ["create", "--bundle", tty.dir, "--console-socket", `${lab.dir}/nope.sock`, "c1"],
            /cannot connect to console socket .*\/nope\.sock: ENOENT/,
          ],
        ];
        for (const [args, expected] of cases) {
          const r = await lab.denki(args);
          assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
          assert.match(oneLine(r.stderr), expected);
          assert.deepEqual(lab.containers(), [], `${args.join(" ")} leaves nothing`);
        }
      } finally {
        sc.close(listener);
      }
    }),
);

/**
 * A terminal bundle running `args` with the host directory `shared` bound at /shared, where
 * the workload leaves files the test waits for.
 */
function sharedTerminal(lab: Lab, args: string[]) {
  const shared = `${lab.dir}/shared`;
  Deno.mkdirSync(shared);
  const b = lab.bundle(withTerminal(args, (c) => {
    c.mounts.push({ destination: "/shared", type: "bind", source: shared, options: ["bind"] });
  }));
  return { shared, b };
}

/** `denki run` under `script`, which gives it a real pty as stdin, stdout and stderr. */
function underScript(lab: Lab, shell: string, input?: string) {
  // timeout(1): a relay that never ends fails the test instead of hanging it.
  return run(["60", "script", "-qec", shell, "/dev/null"], {
    program: "timeout",
    env: { DENKI: `${LAUNCHER} --root ${lab.root}` },
    ...(input === undefined ? {} : { input }),
  });
}

TS(
  "run in a terminal relays the pty both ways and exits with the workload's status",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle(withTerminal([
        "sh",
        "-c",
        "tty; [ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; read x; echo got:$x; exit 3",
      ]));
      const r = await underScript(
        lab,
        `before=$(stty -g); $DENKI run --bundle ${b.dir} c1; code=$?; ` +
          `[ "$(stty -g)" = "$before" ] && echo terminal-restored; exit $code`,
        "hello\n",
      );
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stdout, /\/dev\/pts\/\d+\r\n/);
      assert.match(r.stdout, /stdin-tty\r\nstdout-tty\r\n/);
      assert.match(r.stdout, /got:hello\r\n/);
      assert.match(r.stdout, /terminal-restored/, "raw mode is undone");
      assert.deepEqual(lab.containers(), [], "run deletes the container");
    }),
);

TS(
  "run in a terminal: a signal to run reaches the workload; the terminal is restored",
  () =>
    withLab(async (lab) => {
      const { shared, b } = sharedTerminal(lab, [
        "sh",
        "-c",
        'trap "echo got-term; exit 9" TERM; touch /shared/ready; while :; do sleep 0.05; done',
      ]);
      const r = await underScript(
        lab,
        `before=$(stty -g); $DENKI run --bundle ${b.dir} c1 & ` +
          `while [ ! -e ${shared}/ready ]; do sleep 0.05; done; kill -TERM $!; wait $!; code=$?; ` +
          `[ "$(stty -g)" = "$before" ] && echo terminal-restored; exit $code`,
      );
      assert.equal(r.code, 9, r.stdout + r.stderr);
      assert.match(r.stdout, /got-term\r\n/);
      assert.match(r.stdout, /terminal-restored/);
      assert.deepEqual(lab.containers(), []);
    }),
);

TS(
  "run in a terminal: the pty takes the caller's size, and follows it on SIGWINCH",
  () =>
    withLab(async (lab) => {
      const { shared, b } = sharedTerminal(lab, [
        "sh",
        "-c",
        "stty size; touch /shared/ready; i=0; " +
        'while [ "$(stty size)" = "40 120" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; ' +
        "echo now $(stty size)",
      ]);
      // The size is set on script's pty before run starts and changed once the workload is up;
      // the kernel sends SIGWINCH to the terminal's foreground group, run included.
      const r = await underScript(
        lab,
        `stty rows 40 cols 120; $DENKI run --bundle ${b.dir} c1 & ` +
          `while [ ! -e ${shared}/ready ]; do sleep 0.05; done; stty rows 50 cols 130; wait $!`,
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^40 120\r\n/m);
      assert.match(r.stdout, /now 50 130\r\n/);
    }),
);

T(
  "run with a terminal and no caller terminal still relays the output",
  () =>
    withLab(async (lab) => {
      const r = await lab.runIn(["sh", "-c", "[ -t 1 ] && echo on-a-tty; exit 4"], (c) => {
        c.process.terminal = true;
      });
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.stdout, "on-a-tty\r\n");
    }),
);

/** A running container (no terminal of its own) for the exec tests. */
async function sleeper(lab: Lab, id = "c1"): Promise<void> {
  const b = lab.bundle((c) => (c.process.args = ["sleep", "1000"]));
  const r = await lab.denki(["run", "-d", "--bundle", b.dir, id]);
  assert.equal(r.code, 0, r.stderr);
}

TS(
  "exec --tty in a terminal relays the pty and returns the process's status",
  () =>
    withLab(async (lab) => {
      await sleeper(lab);
      const r = await underScript(
        lab,
        `$DENKI exec -t c1 sh -c 'tty; [ -t 0 ] && echo stdin-tty; read x; echo got:$x; exit 4'`,
        "hello\n",
      );
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(r.stdout, /\/dev\/pts\/\d+\r\n/);
      assert.match(r.stdout, /stdin-tty\r\n/);
      assert.match(r.stdout, /got:hello\r\n/);
    }),
);

T(
  "exec --tty --detach: the master arrives on the console socket; runc's refusals",
  () =>
    withLab(async (lab) => {
      await sleeper(lab);
      const path = `${lab.dir}/exec-console.sock`;
      const listener = listenUnix(path);
      try {
        const r = await lab.denki([
          "exec",
          "-t",
          "-d",
          "--console-socket",
          path,
          "c1",
          "sh",
          "-c",
          "tty; stty size; read x; echo got:$x",
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(await readable(listener, 10000));
        const conn = acceptUnix(listener);
        const { fds, data } = recvWithFds(conn);
        sc.close(conn);
        assert.equal(fds.length, 1);
        assert.equal(new TextDecoder().decode(data), "/dev/ptmx");
        const master = fds[0]!;
        try {
          sc.writeAll(master, new TextEncoder().encode("there\n"));
          const out = await readUntil(master, (t) => t.includes("got:there"));
          assert.match(out, /^\/dev\/pts\/\d+\r\n/);
        } finally {
          sc.close(master);
        }
      } finally {
        sc.close(listener);
      }
      // A failed exec exits 255, as runc's does.
      const noSocket = await lab.denki(["exec", "-t", "-d", "c1", "true"]);
      assert.equal(noSocket.code, 255);
      assert.match(oneLine(noSocket.stderr), /cannot allocate tty if denki will detach/);
      const noTty = await lab.denki(["exec", "--console-socket", path, "c1", "true"]);
      assert.equal(noTty.code, 255);
      assert.match(oneLine(noTty.stderr), /cannot use console socket/);
    }),
);
