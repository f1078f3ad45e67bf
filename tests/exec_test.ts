/**
 * `exec` end to end: a new process joins every namespace and the cgroup of a running
 * container, takes the exec process's settings, and gets exactly its environment.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS, exited, type Json, type Lab, withLab } from "./support/container.ts";
import { testWith } from "./support/requires.ts";

const T = (name: string, fn: (lab: Lab) => Promise<void>) =>
  testWith(`exec: ${name}`, CONTAINER_REQS, () => withLab(fn));

/** A running container whose init sleeps; returns its host pid. */
async function running(lab: Lab, id = "c1", patch: (c: Json) => void = () => {}) {
  const b = lab.bundle((c) => {
    c.process.args = ["sleep", "1000"];
    c.process.env = ["PATH=/bin", "FROM_CONFIG=yes"];
    c.hostname = "exec-host";
    c.root.readonly = false;
    patch(c);
  });
  const r = await lab.denki(["run", "-d", "--bundle", b.dir, id]);
  assert.equal(r.code, 0, r.stderr);
  const state = JSON.parse((await lab.denki(["state", id])).stdout);
  return { pid: state.pid as number, rootfs: b.rootfs };
}

/** The JSON pid list of `denki ps`. */
async function pids(lab: Lab, id = "c1"): Promise<number[]> {
  const r = await lab.denki(["ps", "--format", "json", id]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

T("the process sees the container's hostname, root, pid namespace and cgroup", async (lab) => {
  const { pid } = await running(lab);
  const script = "hostname; echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '; echo; " +
    "grep -c . /proc/self/mountinfo >/dev/null && ls /; cat /proc/self/cgroup | grep memory";
  const r = await lab.denki(["exec", "c1", "sh", "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.equal(lines[0], "exec-host");
  // Pid 1 of its namespace is the container's init, so the process is not pid 1.
  assert.match(lines[1]!, /^pid=\d+$/);
  assert.notEqual(lines[1], "pid=1");
  assert.equal(lines[2], "sleep 1000 ");
  assert.ok(r.stdout.includes("\nbin\n") && !r.stdout.includes("\nhome\n"), r.stdout);
  // The cgroup namespace is the container's: its own cgroup is the root.
  assert.match(r.stdout, /^\d+:memory:\/$/m);
  assert.deepEqual(await pids(lab), [pid], "the exec'd process is gone after it exits");
});

T("the environment is the process's env plus --env, never the caller's", async (lab) => {
  await running(lab);
  const r = await lab.denki(["exec", "-e", "ADDED=1", "c1", "env"], {
    env: { CALLER_SECRET: "s3cret" },
  });
  assert.equal(r.code, 0, r.stderr);
  const env = r.stdout.trim().split("\n").filter((l) => !l.startsWith("PWD=")).sort();
  // HOME is added from the container's passwd (root's entry), as runc does.
  assert.deepEqual(env, ["ADDED=1", "FROM_CONFIG=yes", "HOME=/root", "PATH=/bin"].sort());
});

T("exit status, user, cwd, capabilities, no_new_privs, groups", async (lab) => {
  await running(lab);
  const seven = await lab.denki(["exec", "c1", "sh", "-c", "exit 7"]);
  assert.equal(seven.code, 7);
  const r = await lab.denki([
    "exec",
    "--user",
    "1000:1001",
    "--additional-gids",
    "44",
    "--cwd",
    "/tmp",
    "--no-new-privs",
    "c1",
    "sh",
    "-c",
    "id -u; id -g; pwd; grep -E '^(NoNewPrivs|Groups)' /proc/self/status",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1000\n1001\n\/tmp\n/);
  assert.match(r.stdout, /^Groups:\s+44\s*$/m);
  assert.match(r.stdout, /^NoNewPrivs:\s+1$/m);
  const caps = await lab.denki([
    "exec",
    "--cap",
    "CAP_SYS_ADMIN",
    "c1",
    "grep",
    "CapEff",
    "/proc/self/status",
  ]);
  assert.equal(caps.code, 0, caps.stderr);
  const eff = BigInt("0x" + caps.stdout.trim().split(/\s+/)[1]);
  assert.ok((eff & (1n << 21n)) !== 0n, "CAP_SYS_ADMIN added");
  const plain = await lab.denki(["exec", "c1", "grep", "CapEff", "/proc/self/status"]);
  assert.equal(BigInt("0x" + plain.stdout.trim().split(/\s+/)[1]) & (1n << 21n), 0n);
});

T("--process runs a runtime-spec process object from a file or stdin", async (lab) => {
  await running(lab);
  const process = {
    args: ["sh", "-c", "echo $ONLY; pwd"],
    env: ["ONLY=from-file"],
    cwd: "/etc",
    user: { uid: 0, gid: 0 },
  };
  const file = `${lab.dir}/process.json`;
  Deno.writeTextFileSync(file, JSON.stringify(process));
  const r = await lab.denki(["exec", "--process", file, "c1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "from-file\n/etc\n");
  const s = await lab.denki(["exec", "-p", "-", "c1"], { input: JSON.stringify(process) });
  assert.equal(s.stdout, "from-file\n/etc\n", s.stderr);
  const bad = await lab.denki(["exec", "-p", "-", "c1"], { input: '{"cwd": 3}' });
  assert.equal(bad.code, 255, "a failed exec exits 255, as runc's");
  assert.match(bad.stderr, /cwd: must be a string/);
});

T("--detach with --pid-file: the process runs on and ps lists it", async (lab) => {
  const { pid } = await running(lab);
  const pidFile = `${lab.dir}/exec.pid`;
  const r = await lab.denki(["exec", "-d", "--pid-file", pidFile, "c1", "sleep", "1000"]);
  assert.equal(r.code, 0, r.stderr);
  const execPid = Number(Deno.readTextFileSync(pidFile));
  assert.deepEqual(await pids(lab), [pid, execPid].sort((a, b) => a - b));
  const del = await lab.denki(["delete", "--force", "c1"]);
  assert.equal(del.code, 0, del.stderr);
  assert.ok(await exited(execPid), "delete --force kills exec'd processes too");
});

// runc exits 255 for every failed exec (so a caller can tell it from a process that exited
// 1) and 1 for a command line it cannot parse.
T(
  "refused with 255: missing, stopped and paused containers, bad values, missing programs",
  async (lab) => {
    const none = await lab.denki(["exec", "nope", "true"]);
    assert.equal(none.code, 255);
    assert.match(none.stderr, /container \\"nope\\" does not exist/);
    const { pid } = await running(lab);
    const cases: [string[], RegExp][] = [
      [["exec", "c1"], /give a command to run, or --process FILE/],
      [["exec", "--user", "root", "c1", "true"], /--user \\"root\\": must be UID or UID:GID/],
      [["exec", "c1", "no-such-program"], /executable file not found in \$PATH/],
      [["exec", "--cwd", "relative", "c1", "true"], /process.cwd/],
    ];
    for (const [args, message] of cases) {
      const r = await lab.denki(args);
      assert.equal(r.code, 255, args.join(" "));
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    assert.deepEqual(await pids(lab), [pid], "failed execs leave no process behind");
    assert.equal((await lab.denki(["pause", "c1"])).code, 0);
    const paused = await lab.denki(["exec", "c1", "true"]);
    assert.equal(paused.code, 255);
    assert.match(paused.stderr, /is paused \(resume it, or use --ignore-paused\)/);
    assert.equal((await lab.denki(["resume", "c1"])).code, 0);
    assert.equal((await lab.denki(["kill", "c1", "KILL"])).code, 0);
    assert.ok(await exited(pid));
    const stopped = await lab.denki(["exec", "c1", "true"]);
    assert.equal(stopped.code, 255);
    assert.match(stopped.stderr, /its status is \\"stopped\\"/);
  },
);

T("usage errors exit 1; a process that exits 1 or 255 is told apart by its output", async (lab) => {
  await running(lab);
  const usage: [string[], RegExp][] = [
    [["exec"], /container-id/],
    [["exec", "--bogus", "c1", "true"], /--bogus/],
    [["exec", "--preserve-fds", "x", "c1", "true"], /preserve-fds/],
  ];
  for (const [args, message] of usage) {
    const r = await lab.denki(args);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // The process's own statuses pass through unchanged, 1 and 255 included.
  for (const n of [1, 255]) {
    const r = await lab.denki(["exec", "c1", "sh", "-c", `echo ran-${n}; exit ${n}`]);
    assert.equal(r.code, n, r.stderr);
    assert.equal(r.stdout, `ran-${n}\n`);
  }
});

T("run failures exit 1, as runc's do", async (lab) => {
  const missing = lab.bundle((c) => (c.process.args = ["no-such-program"]));
  const r = await lab.denki(["run", "--bundle", missing.dir, "r1"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /no-such-program/);
  const nobundle = await lab.denki(["run", "--bundle", `${lab.dir}/none`, "r2"]);
  assert.equal(nobundle.code, 1, nobundle.stderr);
  assert.deepEqual(lab.containers(), [], "failed runs leave no container");
});

T(
  "the container's seccomp profile filters the exec'd process, with and without NNP",
  async (lab) => {
    const profile = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }],
    };
    await running(lab, "c1", (c) => {
      c.linux.seccomp = profile;
      c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
    });
    for (const nnp of [false, true]) {
      const r = await lab.denki([
        "exec",
        ...(nnp ? ["--no-new-privs"] : []),
        "c1",
        "sh",
        "-c",
        "grep ^Seccomp: /proc/self/status; mkdir /tmp/x || echo refused; touch /tmp/y && echo touched",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Seccomp:\s+2$/m, `nnp=${nnp}`);
      assert.match(r.stdout, /^refused$/m, `nnp=${nnp}`);
      assert.match(r.stdout, /^touched$/m, `nnp=${nnp}`);
      assert.match(r.stderr, /Operation not permitted/);
    }
  },
);
