import assert from "node:assert/strict";
import { CLONE_PARENT, SIGCHLD } from "../plan/abi.ts";
import { Script, type Step } from "../spawn/script.ts";
import { runtimeEnd } from "../sync.ts";
import * as sc from "../sys/syscalls.ts";
import type { CredentialPlan } from "../spawn/steps.ts";
import {
  type ExecLaunchPlan,
  execLaunchScript,
  type InitLaunchPlan,
  initLaunchScript,
  retainedCaps,
  startStage,
} from "./launch.ts";

/** The calls of a script in order, with a few arguments where they matter. */
function calls(s: Script): string[] {
  return s.steps.map((st: Step) => {
    if (st.op !== "syscall") return st.op;
    const first = st.args[0];
    return typeof first === "number" &&
        ["setns", "unshare", "prctl", "prlimit64"].includes(st.call!)
      ? `${st.call}(${st.call === "prlimit64" ? st.args[1] : first})`
      : st.call!;
  });
}

const CAP = (n: number) => 1n << BigInt(n);
const creds: CredentialPlan = {
  uid: 1000,
  gid: 1000,
  additionalGids: [],
  bounding: CAP(0) | CAP(5),
  effective: CAP(0) | CAP(5),
  permitted: CAP(0) | CAP(5),
  inheritable: 0n,
  ambient: 0n,
  noNewPrivileges: false,
};

const initPlan: InitLaunchPlan = {
  channel: 9,
  join: [],
  fresh: ["network", "mount", "uts", "ipc"],
  newPid: true,
  exe: "/usr/bin/deno",
  exeMount: "/",
  argv: ["/usr/bin/deno", "run", "main.js", "init", "9"],
  env: [],
};

Deno.test("init launch: namespaces, a read-only binary, then the fork into PID 1 and execve", () => {
  const s = initLaunchScript(initPlan, "x86_64");
  assert.deepEqual(calls(s), [
    "unshare(1275199488)", // network | mount | uts | ipc
    "unshare(536870912)", // pid, for the child
    "mount", // the binary's mount stops propagating
    "mount", // bind
    "mount", // read-only
    "pipe2", // the child waits on it for the stage's report (no go-ahead for an init)
    "load32",
    "load32",
    "clone",
    "close",
    "read",
    "close",
    "rt_sigaction",
    "execve",
    "report",
    "exit",
  ]);
  assert.match(s.describe(4), /cannot make \/usr\/bin\/deno read-only/);
});

Deno.test("init launch: joined namespaces by fd, pid before the fork; time offsets written", () => {
  const s = initLaunchScript({
    ...initPlan,
    join: [{ type: "pid", fd: 21 }, { type: "network", fd: 20 }],
    fresh: ["mount"],
    newPid: false,
    newTime: ["monotonic 5 0"],
    env: ["DENO_DIR=/dev/null"],
  }, "x86_64");
  const c = calls(s);
  assert.deepEqual(c.slice(0, 9), [
    "setns(20)",
    "close",
    "unshare(131072)",
    "unshare(128)",
    "openat",
    "write",
    "close",
    "setns(21)",
    "close",
  ]);
  const exec = s.steps.find((st) => st.call === "execve")!;
  assert.equal(exec.args.length, 3);
});

Deno.test("init launch: a joined mount namespace runs a read-only copy of the binary by fd", () => {
  const s = initLaunchScript({
    ...initPlan,
    join: [{ type: "mount", fd: 22 }],
    fresh: [],
  }, "x86_64");
  const c = calls(s);
  const at = (name: string) => c.indexOf(name);
  assert.ok(at("open_tree") < at("setns(22)"), "the copy is made from the host's view");
  assert.ok(at("setns(22)") < at("chroot"), "Deno starts from the host's root");
  assert.ok(c.includes("execveat") && !c.includes("execve"));
});

Deno.test("init launch: without a mount namespace, a read-only copy of the binary's mount", () => {
  const s = initLaunchScript({
    ...initPlan,
    fresh: ["network", "uts"],
    exe: "/usr/lib/deno/deno",
    exeMount: "/",
    argv: ["/usr/lib/deno/deno", "run", "main.js", "init", "9"],
  }, "x86_64");
  const c = calls(s);
  assert.ok(
    !c.some((x) => x.startsWith("setns")) && !c.includes("mount"),
    "nothing joined or mounted",
  );
  const at = (name: string) => c.indexOf(name);
  assert.ok(at("open_tree") < at("mount_setattr") && at("mount_setattr") < at("openat"));
  assert.ok(at("openat") < at("clone") && c.includes("execveat") && !c.includes("execve"));
  // The copy is of the mount, so the binary keeps its path in it (Deno.execPath() reads it).
  const open = s.steps.find((st) => st.call === "openat")!;
  assert.match(
    s.describe(s.steps.indexOf(open)),
    /cannot open \/usr\/lib\/deno\/deno in the copy of \/$/,
  );
  const tree = s.steps.find((st) => st.call === "open_tree")!;
  assert.match(tree.what, /cannot clone the mount \/$/);
});

const execPlan = (over: Partial<CredentialPlan> = {}, seccomp = true): ExecLaunchPlan => {
  const c = { ...creds, ...over };
  const filter = seccomp ? { program: new Uint8Array(16), flags: 0, notify: false } : undefined;
  return {
    channel: 9,
    join: [{ type: "mount", fd: 30 }, { type: "pid", fd: 31 }, { type: "ipc", fd: 32 }],
    umask: 0o022,
    cwd: "/",
    tail: {
      rlimits: [{ name: "RLIMIT_NOFILE", resource: 7, soft: 64n, hard: 64n }],
      preserveFds: 0,
      seccomp: filter,
      creds: c,
      retain: retainedCaps(c, filter),
      path: "/bin/sh",
      argv: ["sh"],
      env: ["PATH=/bin"],
    },
  };
};

Deno.test("exec: joins with mount last, forks, sets up, and nothing but the cap drop and execve after the filter", () => {
  const s = execLaunchScript(execPlan(), "x86_64");
  const c = calls(s);
  assert.deepEqual(c.slice(0, 7), [
    "setns(32)", // ipc
    "close",
    "setns(31)", // pid, for the child
    "close",
    "setns(30)", // mount, last
    "close",
    "clone",
  ]);
  const filter = c.indexOf("seccomp");
  // Rlimits before the user changes (raising one needs the privileges that go), as runc.
  assert.ok(c.indexOf("prlimit64(7)") < c.indexOf("setresuid"));
  assert.ok(c.indexOf("setresuid") < c.indexOf("close_range"));
  assert.ok(c.indexOf("close_range") < filter, "close_range comes before the filter");
  // Without no_new_privs the filter needs CAP_SYS_ADMIN, kept until it is on: after it come
  // only the bounding-set drops, capset and execve.
  assert.deepEqual(c.slice(filter + 1, c.indexOf("report")), [
    "prctl(24)",
    "prctl(24)",
    "capset",
    "execve",
  ]);
});

Deno.test("exec: with no_new_privs nothing is kept and the filter goes on right before execve", () => {
  const s = execLaunchScript(execPlan({ noNewPrivileges: true }), "x86_64");
  const c = calls(s);
  assert.equal(c[c.indexOf("seccomp") + 1], "execve");
  assert.ok(c.indexOf("prctl(38)") < c.indexOf("seccomp"));
});

Deno.test("retainedCaps: CAP_SYS_ADMIN and CAP_SETPCAP only when a filter goes on without NNP", () => {
  const filter = { program: new Uint8Array(8), flags: 0, notify: false };
  assert.equal(retainedCaps(creds, filter), CAP(21) | CAP(8));
  assert.equal(retainedCaps({ ...creds, noNewPrivileges: true }, filter), 0n);
  assert.equal(retainedCaps(creds, undefined), 0n);
  assert.equal(retainedCaps({ ...creds, effective: CAP(21) | CAP(8) }, filter), 0n);
});

Deno.test("exec: without a mount namespace to join, the process chroots into the init's root", () => {
  const plan = execPlan();
  const s = execLaunchScript({
    ...plan,
    join: plan.join.filter((n) => n.type !== "mount"),
    chroot: 33,
  }, "x86_64");
  const c = calls(s);
  const at = (name: string) => c.indexOf(name);
  assert.ok(at("setns(31)") < at("fchdir"), "after the pid namespace is joined");
  assert.deepEqual(c.slice(at("fchdir"), at("fchdir") + 4), ["fchdir", "chroot", "close", "clone"]);
  assert.ok(at("clone") < at("chdir"), "process.cwd is then taken inside the root");
  assert.equal(s.steps[s.steps.findIndex((st) => st.call === "fchdir")]!.args[0], 33);
});

Deno.test("startStage: work done meanwhile overlaps the stage; if it fails, the forked child is killed and reaped", async () => {
  const run = async (meanwhile: () => void) => {
    const [mine, theirs] = sc.socketpair();
    sc.setCloexec(mine, true);
    const channel = runtimeEnd(mine);
    const s = new Script(Deno.build.arch);
    const pid = s.slot();
    const fork = s.fork(CLONE_PARENT | SIGCHLD, pid, "fork");
    // The child waits for a byte (or the channel's end), as a handed-off init does.
    s.call("read", [theirs, s.zeros(8), 1], "wait", { exitOnEof: 7 });
    s.exit(0, "child exits");
    s.parentAt(fork);
    s.report(theirs, "stage-pid", pid, "report the child");
    s.exit(0);
    try {
      return await startStage(s, channel, theirs, meanwhile);
    } finally {
      sc.close(theirs);
      channel.close();
    }
  };
  let ran = false;
  const child = await run(() => void (ran = true));
  assert.ok(ran, "meanwhile ran");
  assert.equal((await sc.waitChild(child)).code, 7, "the child ends when the channel closes");

  const before = children();
  await assert.rejects(
    run(() => {
      throw new Error("planning failed");
    }),
    /planning failed/,
  );
  // Nothing new is left among this process's children, not even a zombie: killed and reaped.
  assert.deepEqual(children(), before);
});

/** This process's children (every thread's), from procfs. */
function children(): string[] {
  const out: string[] = [];
  for (const t of Deno.readDirSync("/proc/self/task")) {
    const text = Deno.readTextFileSync(`/proc/self/task/${t.name}/children`).trim();
    if (text !== "") out.push(...text.split(" "));
  }
  return out.sort();
}
