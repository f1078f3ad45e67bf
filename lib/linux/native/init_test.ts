/**
 * The native init's script, carried out by the TypeScript interpreter over a recording fake of
 * the kernel: the exact order of its system calls for representative plans, and what a failing
 * step does (reports, exits, makes no further call).
 */
import assert from "node:assert/strict";
import { Errno } from "../../plan/errno.ts";
import { MS } from "../../plan/mount_options.ts";
import { oNofollow } from "../../plan/abi.ts";
import { interpret } from "../../spawn/interp.ts";
import { Script } from "../../spawn/script.ts";
import type { SeccompPlan } from "../../spawn/steps.ts";
import { defaultSpec } from "../../spec/default.ts";
import type { Spec } from "../../spec/config.ts";
import { syscallName, syscallNumber } from "../../sys/nr.ts";
import { stageFailure } from "../launch.ts";
import { buildNativePlan } from "./build.ts";
import { nativeInitSteps } from "./init.ts";

const CHANNEL = 5;
/** The arguments of each call that are C strings (the rest are numbers or structs). */
const STRINGS: Record<string, number[]> = {
  mount: [0, 1, 2, 4],
  openat: [1],
  openat2: [1],
  mkdirat: [1],
  pivot_root: [0, 1],
  umount2: [0],
  chdir: [0],
  chroot: [0],
  execve: [0],
  faccessat: [1],
  sethostname: [0],
  mknodat: [1],
  symlinkat: [0, 2],
};

interface Call {
  name: string;
  args: readonly bigint[];
  /** The string arguments, decoded. */
  s: Record<number, string>;
  /** What the fake returned. */
  ret?: bigint;
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function cstr(ptr: bigint): string {
  const p = Deno.UnsafePointer.create(ptr);
  return p === null ? "" : new Deno.UnsafePointerView(p).getCString();
}

/**
 * Runs the plan's script against a fake kernel. `fail` picks calls that fail (with an errno);
 * every other call succeeds: opens return new fds, reads and writes their whole length.
 */
async function run(
  spec: Spec,
  fail: (c: Call) => number | undefined = () => undefined,
  mountinfo = "1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n",
) {
  const rootfs = Deno.makeTempDirSync({ prefix: "denki-native-" });
  try {
    const seccomp: SeccompPlan | undefined = spec.linux?.seccomp
      ? { program: new Uint8Array(8), flags: 0, notify: false }
      : undefined;
    const plan = buildNativePlan({
      spec,
      id: "c1",
      bundle: rootfs,
      rootfs,
      stateDir: "/run/denki/c1",
      channel: CHANNEL,
      preserveFds: 0,
      noPivot: false,
      noNewKeyring: true,
      seccomp,
      mountinfo,
    });
    const script = new Script(Deno.build.arch);
    nativeInitSteps(script, plan);
    const calls: Call[] = [];
    const lines: { fd: number; text: string }[] = [];
    let nextFd = 100;
    const result = (c: Call, errno: number | undefined): bigint => {
      if (errno !== undefined) return BigInt(-errno);
      if (c.name === "newfstatat") return BigInt(-Errno.ENOENT); // no device node yet
      if (["openat", "openat2", "fsopen", "fsmount", "socket"].includes(c.name)) {
        return BigInt(nextFd++);
      }
      if (c.name === "read" || c.name === "write") return c.args[2]!;
      return 0n;
    };
    let code: number | undefined;
    try {
      await interpret(script.build({ fd: CHANNEL, failCode: 1, text: false }), {
        special: () => Promise.reject(new Error("no special steps in a native init")),
        write: (fd, text) => void lines.push({ fd, text }),
        exit: (c) => {
          throw new Exit(c);
        },
        cloneNr: syscallNumber("clone"),
        syscall: (nr, args) => {
          const name = syscallName(nr) ?? `#${nr}`;
          const s: Record<number, string> = {};
          for (const i of STRINGS[name] ?? []) if (args[i] !== 0n) s[i] = cstr(args[i]!);
          const call: Call = { name, args, s };
          calls.push(call);
          call.ret = result(call, fail(call));
          return call.ret;
        },
      });
    } catch (err) {
      if (!(err instanceof Exit)) throw err;
      code = err.code;
    }
    return { calls, lines, code, script, plan };
  } finally {
    Deno.removeSync(rootfs, { recursive: true });
  }
}

function spec(patch: (s: Spec) => void = () => {}): Spec {
  const s = defaultSpec({ rootless: false, uid: 0, gid: 0 });
  s.process!.args = ["/bin/app", "arg"];
  s.process!.env = ["PATH=/bin", "HOME=/root"];
  s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 64, hard: 64 }];
  s.hostname = "box";
  patch(s);
  return s;
}

/** The index of the first call that matches, failing the test when there is none. */
function at(calls: Call[], what: string, match: (c: Call) => boolean): number {
  const i = calls.findIndex(match);
  assert.ok(i >= 0, `no call: ${what}`);
  return i;
}

const named = (name: string) => (c: Call) => c.name === name;

Deno.test("native init: hello first, mounts inside the root before the switch, exec last", async () => {
  const { calls, code, lines } = await run(spec());
  assert.equal(code, undefined, JSON.stringify(lines));
  assert.equal(calls[0]!.name, "write");
  assert.match(cstr(calls[0]!.args[1]!), /"hello"/, "says hello before anything else");
  // Already in the cgroup (handoff.ts): no wait on the channel before it goes on.
  assert.equal(calls[1]!.name, "unshare", "its first act is the cgroup namespace");
  const bindRoot = at(calls, "rootfs bind", (c) => c.name === "mount" && c.s[0] === c.s[1]);
  const proc = at(calls, "proc mount", (c) => c.name === "mount" && c.s[2] === "proc");
  const pivot = at(calls, "pivot_root", named("pivot_root"));
  const detach = at(calls, "old root detach", (c) => c.name === "umount2" && c.s[0] === ".");
  const hostname = at(calls, "sethostname", named("sethostname"));
  const ready = at(
    calls,
    "ready",
    (c) =>
      c.name === "write" && c.args[0] === BigInt(CHANNEL) && cstr(c.args[1]!).includes("ready"),
  );
  const fifo = at(
    calls,
    "fifo reopen",
    (c) => c.name === "openat" && /fd\/\d+$/.test(c.s[1] ?? ""),
  );
  const uid = at(calls, "setresuid", named("setresuid"));
  const rlimit = at(calls, "prlimit64", named("prlimit64"));
  const cloexec = calls.findLastIndex(named("close_range"));
  const exec = calls.length - 1;
  assert.equal(calls[exec]!.name, "execve");
  assert.equal(calls[exec]!.s[0], "/bin/app");
  assert.ok(bindRoot < proc && proc < pivot && pivot < detach && detach < hostname);
  assert.ok(hostname < uid && rlimit < uid && uid < ready && ready < fifo);
  assert.ok(fifo < cloexec && cloexec < exec, "fds close on exec after start, before execve");
  // Every mount target in the root is an fd resolved inside it: by openat2 from the root, or
  // by openat below a parent that was (never from the host's cwd).
  for (const c of calls.slice(bindRoot + 1, pivot)) {
    if (c.name !== "mount") continue;
    const fd = /^\/proc\/self\/fd\/(\d+)$/.exec(c.s[1] ?? "");
    assert.ok(fd, `mount ${c.s[2]} goes through an fd, not a path: ${c.s[1]}`);
    const opener = calls.find((o) => o.ret === BigInt(fd[1]!))!;
    assert.ok(
      opener.name === "openat2" || (opener.name === "openat" && opener.args[0] !== -100n),
      `${opener.name} ${opener.s[1]}`,
    );
  }
  // No mount with a plain path target after the root switch but the propagation of "/".
  for (const c of calls.slice(pivot)) {
    if (c.name === "mount") assert.match(c.s[1] ?? "", /^(\/|\/proc\/self\/fd\/\d+)$/);
  }
});

Deno.test("native init: a seccomp filter goes on after the credentials with no_new_privs", async () => {
  const { calls } = await run(spec((s) => {
    s.process!.noNewPrivileges = true;
    s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [] };
  }));
  const nnp = at(calls, "no_new_privs", (c) => c.name === "prctl" && c.args[0] === 38n);
  const uid = at(calls, "setresuid", named("setresuid"));
  const filter = at(calls, "seccomp", named("seccomp"));
  const exec = at(calls, "execve", named("execve"));
  assert.ok(uid < nnp && nnp < filter && filter < exec);
  assert.deepEqual(calls.slice(filter + 1).map((c) => c.name), ["execve"]);
});

Deno.test("native init: without no_new_privs the filter goes on with CAP_SYS_ADMIN kept, which is then dropped", async () => {
  const { calls } = await run(spec((s) => {
    s.process!.noNewPrivileges = false;
    s.process!.user = { uid: 1000, gid: 1000 };
    s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [] };
  }));
  assert.equal(calls.findIndex((c) => c.name === "prctl" && c.args[0] === 38n), -1);
  const uid = at(calls, "setresuid", named("setresuid"));
  const filter = at(calls, "seccomp", named("seccomp"));
  const after = calls.slice(filter + 1).map((c) =>
    c.name === "prctl" ? `prctl ${c.args[0]} ${c.args[1]}` : c.name
  );
  assert.ok(uid < filter);
  // CAPBSET_DROP (24) of CAP_SYS_ADMIN (21), then of CAP_SETPCAP (8), capset, execve.
  assert.deepEqual(after, ["prctl 24 21", "prctl 24 8", "capset", "execve"]);
});

Deno.test("native init: a failing mount reports its step to create, exits, and makes no further call", async () => {
  const { calls, code, lines, script } = await run(
    spec(),
    (c) => c.name === "mount" && c.s[2] === "proc" ? Errno.EPERM : undefined,
  );
  assert.equal(code, 1);
  assert.equal(calls.at(-1)!.s[2], "proc", "the failed mount was the last call");
  assert.equal(calls.findIndex(named("pivot_root")), -1);
  const report = lines.at(-1)!;
  assert.equal(report.fd, CHANNEL);
  const msg = JSON.parse(report.text);
  assert.equal(msg.type, "stage-fail");
  assert.equal(msg.errno, Errno.EPERM);
  assert.match(
    stageFailure(script, msg).message,
    /^denki init: cannot mount proc "proc" on "\/proc": EPERM/,
  );
});

Deno.test("native init: after start, a failing execve is one line on stderr and on the fifo", async () => {
  const { code, lines } = await run(
    spec(),
    (c) => c.name === "execve" ? Errno.ENOENT : undefined,
  );
  assert.equal(code, 255);
  const text = 'denki init: exec "/bin/app": ENOENT (no such file or directory)\n';
  assert.deepEqual(lines.map((l) => l.fd === 2 ? "stderr" : "fifo"), ["stderr", "fifo"]);
  for (const l of lines) assert.equal(l.text, text);
});

Deno.test("native init: rootfs mounts follow the config's order and MS flags", async () => {
  const { calls } = await run(spec((s) => {
    s.mounts = [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "ro"] },
    ];
  }));
  const before = calls.slice(0, at(calls, "pivot_root", named("pivot_root")));
  const fresh = before.filter((c) => c.name === "mount" && ["proc", "tmpfs"].includes(c.s[2]!));
  assert.deepEqual(fresh.map((c) => c.s[2]), ["proc", "tmpfs"]);
  const flags = Number(fresh[1]!.args[3]);
  assert.equal(flags & (MS.NOSUID | MS.RDONLY), MS.NOSUID | MS.RDONLY);
});

Deno.test("native init: /sys/fs/cgroup is a fresh tmpfs with each hierarchy made right below it", async () => {
  const mountinfo = [
    "1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
    "30 1 0:25 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755",
    "31 30 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory",
    "32 30 0:27 / /sys/fs/cgroup/pids rw,nosuid shared:11 - cgroup cgroup rw,pids",
  ].join("\n") + "\n";
  const { calls, code, lines } = await run(spec(), undefined, mountinfo);
  assert.equal(code, undefined, JSON.stringify(lines));
  const tmpfs = at(calls, "cgroup tmpfs", (c) =>
    c.name === "mount" && c.s[2] === "tmpfs" &&
    c.s[4] === "mode=755");
  // The tmpfs's own fd: the first open of /sys/fs/cgroup in the root after it is mounted.
  const open = calls.findIndex((c, i) =>
    i > tmpfs && c.name === "openat2" && c.s[1] === "sys/fs/cgroup"
  );
  assert.ok(open > tmpfs, "opens the fresh tmpfs");
  const fd = calls[open]!.ret!;
  for (const name of ["memory", "pids"]) {
    const mk = calls.findIndex((c, i) => i > open && c.name === "mkdirat" && c.s[1] === name);
    assert.ok(mk > open, `makes ${name}`);
    assert.equal(
      calls[mk]!.args[0],
      fd,
      `${name} is made below the tmpfs, not walked from the root`,
    );
    const o = calls[mk + 1]!;
    assert.equal(o.name, "openat");
    assert.equal(o.args[0], fd);
    assert.ok((Number(o.args[2]) & oNofollow(Deno.build.arch)) !== 0, "a link there is refused");
    const mounted = calls.findIndex((c, i) => i > mk && c.name === "mount" && c.s[2] === "cgroup");
    assert.ok(mounted > mk, `mounts the ${name} hierarchy`);
  }
});
