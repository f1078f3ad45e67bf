import assert from "node:assert/strict";
import type { Seccomp } from "../../spec/config.ts";
import { DenkiError } from "../../errors.ts";
import { defaultSpec } from "../../spec/default.ts";
import { BPF_MAXINSNS, compileSeccomp, SECCOMP_FILTER_FLAG, SECCOMP_RET } from "./compile.ts";
import { fromContainersProfile } from "../testing/containers_profile.ts";
import { checkProgram, programLength, runSeccomp } from "../testing/seccomp_interp.ts";
import {
  AUDIT_ARCH,
  type SeccompArch,
  syscallNr,
  syscallTable,
  X32_SYSCALL_BIT,
} from "./tables.ts";

// deno-lint-ignore no-explicit-any
const profile = (p: any): Seccomp => p as Seccomp;
const ALLOW = SECCOMP_RET.ALLOW;
const KILL = SECCOMP_RET.KILL_PROCESS;
const errno = (e: number) => (SECCOMP_RET.ERRNO | e) >>> 0;
const EPERM = errno(1);

/** The verdict for syscall `name` (or a raw number) on `arch`. */
function decide(
  prog: Uint8Array,
  arch: SeccompArch,
  name: string | number,
  args: (bigint | number)[] = [],
): number {
  const nr = typeof name === "number" ? name : syscallNr(arch, name);
  if (nr === undefined) throw new Error(`no ${name} on ${arch}`);
  return runSeccomp(prog, { nr, arch: AUDIT_ARCH[arch], args });
}

const compile = (p: unknown, arch: "x86_64" | "aarch64" = "x86_64") =>
  compileSeccomp(profile(p), arch);

Deno.test("seccomp tables: known numbers on every ABI", () => {
  assert.equal(syscallNr("x86_64", "mkdir"), 83);
  assert.equal(syscallNr("x86_64", "read"), 0);
  assert.equal(syscallNr("x86", "mkdir"), 39);
  assert.equal(syscallNr("x86", "socketcall"), 102);
  assert.equal(syscallNr("x32", "read"), X32_SYSCALL_BIT);
  assert.equal(syscallNr("x32", "execve"), (X32_SYSCALL_BIT | 520) >>> 0);
  assert.equal(syscallNr("x32", "rt_sigaction"), (X32_SYSCALL_BIT | 512) >>> 0);
  assert.equal(syscallNr("aarch64", "mkdirat"), 34);
  assert.equal(syscallNr("aarch64", "mkdir"), undefined, "asm-generic has no mkdir");
  assert.equal(syscallNr("aarch64", "renameat"), 38);
  assert.equal(syscallNr("aarch64", "clone3"), 435);
  assert.equal(syscallNr("arm", "mkdir"), 39);
  assert.equal(syscallNr("arm", "exit_group"), 248);
  assert.equal(syscallNr("arm", "cacheflush"), 0x0f0002);
  assert.equal(syscallNr("arm", "time"), undefined, "OABI-only calls are not in EABI");
  // Newer than the installed headers: the shared numbering fills them in.
  assert.equal(syscallNr("x86_64", "fchmodat2"), 452);
  assert.equal(syscallNr("aarch64", "mseal"), 462);
});

Deno.test("seccomp: default actions and their return values", () => {
  const cases: [unknown, number][] = [
    [{ defaultAction: "SCMP_ACT_ALLOW" }, ALLOW],
    [{ defaultAction: "SCMP_ACT_ERRNO" }, EPERM],
    [{ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38 }, errno(38)],
    [{ defaultAction: "SCMP_ACT_KILL" }, SECCOMP_RET.KILL_THREAD],
    [{ defaultAction: "SCMP_ACT_KILL_THREAD" }, SECCOMP_RET.KILL_THREAD],
    [{ defaultAction: "SCMP_ACT_KILL_PROCESS" }, KILL],
    [{ defaultAction: "SCMP_ACT_TRAP" }, SECCOMP_RET.TRAP],
    [{ defaultAction: "SCMP_ACT_TRACE" }, (SECCOMP_RET.TRACE | 1) >>> 0],
    [{ defaultAction: "SCMP_ACT_TRACE", defaultErrnoRet: 5 }, (SECCOMP_RET.TRACE | 5) >>> 0],
    [{ defaultAction: "SCMP_ACT_LOG" }, SECCOMP_RET.LOG],
    [{ defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/run/agent.sock" }, 0x7fc00000],
  ];
  for (const [p, want] of cases) {
    const c = compile(p);
    checkProgram(c.program);
    assert.equal(decide(c.program, "x86_64", "getpid"), want, JSON.stringify(p));
    assert.equal(c.notify, (p as Seccomp).defaultAction === "SCMP_ACT_NOTIFY");
  }
});

Deno.test("seccomp: each action on a syscall, errnoRet, other syscalls get the default", () => {
  const actions: [string, number | undefined, number][] = [
    ["SCMP_ACT_ERRNO", undefined, EPERM],
    ["SCMP_ACT_ERRNO", 38, errno(38)],
    ["SCMP_ACT_KILL", undefined, 0],
    ["SCMP_ACT_KILL_THREAD", undefined, 0],
    ["SCMP_ACT_KILL_PROCESS", undefined, KILL],
    ["SCMP_ACT_TRAP", undefined, 0x00030000],
    ["SCMP_ACT_TRACE", 7, 0x7ff00007],
    ["SCMP_ACT_LOG", undefined, 0x7ffc0000],
    ["SCMP_ACT_NOTIFY", undefined, 0x7fc00000],
  ];
  for (const [action, errnoRet, want] of actions) {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/agent.sock",
      syscalls: [{ names: ["mkdir", "mkdirat"], action, ...(errnoRet ? { errnoRet } : {}) }],
    });
    assert.equal(decide(c.program, "x86_64", "mkdir"), want, action);
    assert.equal(decide(c.program, "x86_64", "mkdirat"), want, action);
    assert.equal(decide(c.program, "x86_64", "rmdir"), ALLOW, action);
    const notify = action === "SCMP_ACT_NOTIFY";
    assert.equal(c.notify, notify);
    assert.equal((c.flags & SECCOMP_FILTER_FLAG.NEW_LISTENER) !== 0, notify);
  }
});

/** A deterministic stream of u64 test values: edges, and values around `near`. */
function* values(near: bigint): Generator<bigint> {
  const M = 0xffffffffffffffffn;
  const edges = [0n, 1n, 0xffffffffn, 0x100000000n, 0x100000001n, M, M - 1n, 1n << 63n];
  for (const e of edges) yield e;
  for (const d of [-1n, 0n, 1n]) {
    for (const hiStep of [-(1n << 32n), 0n, 1n << 32n]) {
      const v = near + d + hiStep;
      if (v >= 0n && v <= M) yield v;
    }
  }
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 40; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & M;
    yield x;
  }
}

const OPS: Record<string, (a: bigint, v: bigint, v2: bigint) => boolean> = {
  SCMP_CMP_EQ: (a, v) => a === v,
  SCMP_CMP_NE: (a, v) => a !== v,
  SCMP_CMP_LT: (a, v) => a < v,
  SCMP_CMP_LE: (a, v) => a <= v,
  SCMP_CMP_GT: (a, v) => a > v,
  SCMP_CMP_GE: (a, v) => a >= v,
  SCMP_CMP_MASKED_EQ: (a, mask, datum) => (a & mask) === datum,
};

Deno.test("seccomp: every operator on 64-bit arguments, halves compared right", () => {
  // Values whose halves differ in one direction only, so a wrong half order shows.
  const probes = [0x100000005n, 0xfffffffe00000001n, 0x7fffffffn, 0n, 0xffffffffffffffffn];
  for (const [op, holds] of Object.entries(OPS)) {
    for (const value of probes) {
      const valueTwo = op === "SCMP_CMP_MASKED_EQ" ? value & 0xff000000ffn : 0n;
      const c = compile({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{
          names: ["ioctl"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 3, value, valueTwo, op }],
        }],
      });
      for (const a of values(value)) {
        const got = decide(c.program, "x86_64", "ioctl", [0, 0, 0, a]);
        const want = holds(a, value, valueTwo) ? EPERM : ALLOW;
        assert.equal(got, want, `${op} 0x${value.toString(16)}: arg 0x${a.toString(16)}`);
      }
    }
  }
});

Deno.test("seccomp: values that differ only in the high half", () => {
  const value = 0x100000005n;
  const prog = (op: string) =>
    compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["write"], action: "SCMP_ACT_ERRNO", args: [{ index: 2, value, op }] }],
    }).program;
  const at = (op: string, a: bigint) => decide(prog(op), "x86_64", "write", [1, 0, a]);
  assert.equal(at("SCMP_CMP_EQ", 5n), ALLOW, "same low half, other high half: not equal");
  assert.equal(at("SCMP_CMP_EQ", value), EPERM);
  assert.equal(at("SCMP_CMP_NE", 5n), EPERM);
  assert.equal(at("SCMP_CMP_GT", 0x200000000n), EPERM, "high half decides although low is 0");
  assert.equal(at("SCMP_CMP_LT", 0xffffffffn), EPERM, "low half all ones, high half smaller");
  assert.equal(at("SCMP_CMP_LE", 0x100000006n), ALLOW);
  assert.equal(at("SCMP_CMP_GE", 0x100000004n), ALLOW);
});

Deno.test("seccomp: MASKED_EQ masks with value and compares with valueTwo", () => {
  const CLONE_NEWUSER = 0x10000000n;
  const c = compile({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{
      names: ["clone"],
      action: "SCMP_ACT_ERRNO",
      args: [{
        index: 0,
        value: CLONE_NEWUSER | (1n << 40n),
        valueTwo: CLONE_NEWUSER,
        op: "SCMP_CMP_MASKED_EQ",
      }],
    }],
  });
  assert.equal(decide(c.program, "x86_64", "clone", [CLONE_NEWUSER | 0x11n]), EPERM);
  assert.equal(decide(c.program, "x86_64", "clone", [0x11n]), ALLOW);
  assert.equal(decide(c.program, "x86_64", "clone", [CLONE_NEWUSER | (1n << 40n)]), ALLOW);
  assert.equal(decide(c.program, "x86_64", "clone", [CLONE_NEWUSER | (1n << 41n)]), EPERM);
});

Deno.test("seccomp: 32-bit ABIs compare the low halves only (as libseccomp)", () => {
  const c = compile({
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86"],
    syscalls: [{
      names: ["personality"],
      action: "SCMP_ACT_ERRNO",
      args: [{ index: 0, value: 0xffffffffffffffffn, op: "SCMP_CMP_EQ" }],
    }],
  });
  // A 32-bit task's -1 arrives zero-extended.
  assert.equal(decide(c.program, "x86", "personality", [0xffffffffn]), EPERM);
  assert.equal(decide(c.program, "x86_64", "personality", [0xffffffffn]), ALLOW);
  assert.equal(decide(c.program, "x86_64", "personality", [0xffffffffffffffffn]), EPERM);
});

Deno.test("seccomp: architectures, the x32 bit, a wrong arch", () => {
  const rules = {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }],
  };
  const only = compile(rules);
  assert.equal(decide(only.program, "x86_64", "mkdir"), EPERM);
  assert.equal(decide(only.program, "x86_64", "getpid"), ALLOW);
  assert.equal(decide(only.program, "x32", "mkdir"), KILL, "x32 not listed: bad arch");
  assert.equal(decide(only.program, "x32", "getpid"), KILL);
  assert.equal(decide(only.program, "x86", "mkdir"), KILL, "i386 not listed: bad arch");
  assert.equal(decide(only.program, "aarch64", "getpid"), KILL, "foreign arch");

  const all = compile({
    ...rules,
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  });
  assert.equal(decide(all.program, "x32", "mkdir"), EPERM);
  assert.equal(decide(all.program, "x32", "getpid"), ALLOW);
  assert.equal(decide(all.program, "x86", "mkdir"), EPERM);
  assert.equal(decide(all.program, "x86", "getpid"), ALLOW);
  // mkdir's x86_64 number is another call on i386 (83 = symlink): not denied there.
  assert.equal(decide(all.program, "x86", 83), ALLOW);
  assert.equal(decide(all.program, "x86_64", 83), EPERM);
  assert.equal(runSeccomp(all.program, { nr: 83, arch: 0x12345678 }), KILL);
});

Deno.test("seccomp: aarch64 with arm; arches the native one cannot run are noted", () => {
  const c = compile({
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X86", "SCMP_ARCH_PPC64LE"],
    syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
  }, "aarch64");
  assert.equal(decide(c.program, "aarch64", "mkdirat"), errno(13));
  assert.equal(decide(c.program, "arm", "mkdir"), errno(13));
  assert.equal(decide(c.program, "arm", "mkdirat"), errno(13));
  assert.equal(decide(c.program, "arm", "getpid"), ALLOW);
  assert.equal(decide(c.program, "x86_64", "getpid"), KILL);
  assert.match(c.notes.join("\n"), /architectures\[2\]: SCMP_ARCH_X86 does not run on aarch64/);
  assert.match(
    c.notes.join("\n"),
    /architectures\[3\]: unsupported architecture SCMP_ARCH_PPC64LE/,
  );
});

Deno.test("seccomp: several conditions (all hold), alternatives in order, same-index OR", () => {
  const c = compile({
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 38,
    syscalls: [
      {
        names: ["socket"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 22,
        args: [{ index: 0, value: 16, op: "SCMP_CMP_EQ" }, {
          index: 2,
          value: 9,
          op: "SCMP_CMP_EQ",
        }],
      },
      {
        names: ["socket"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 16, op: "SCMP_CMP_NE" }],
      },
      {
        names: ["socket"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 2, value: 9, op: "SCMP_CMP_NE" }],
      },
      {
        names: ["personality"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }, {
          index: 0,
          value: 8,
          op: "SCMP_CMP_EQ",
        }],
      },
      // Redundant (the default action): dropped, so the later entry decides.
      { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
      { names: ["getpid"], action: "SCMP_ACT_LOG" },
    ],
  });
  const sock = (...a: number[]) => decide(c.program, "x86_64", "socket", a);
  assert.equal(sock(16, 3, 9), errno(22), "AF_NETLINK, NETLINK_AUDIT");
  assert.equal(sock(16, 3, 0), ALLOW);
  assert.equal(sock(2, 1, 9), ALLOW);
  assert.equal(sock(2, 1, 0), ALLOW);
  const pers = (a: number) => decide(c.program, "x86_64", "personality", [a]);
  assert.equal(pers(0), ALLOW);
  assert.equal(pers(8), ALLOW);
  assert.equal(pers(9), errno(38));
  assert.equal(decide(c.program, "x86_64", "getpid"), SECCOMP_RET.LOG);
  assert.equal(decide(c.program, "x86_64", "read"), errno(38));
});

Deno.test("seccomp: unknown syscall names are skipped, logged and noted", () => {
  const logged: string[] = [];
  const c = compileSeccomp(
    profile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{
        names: ["no_such_call", "mkdir", "arm_fadvise64_64"],
        action: "SCMP_ACT_ERRNO",
      }],
    }),
    "x86_64",
    (m) => logged.push(m),
  );
  assert.equal(decide(c.program, "x86_64", "mkdir"), EPERM);
  assert.deepEqual(logged, c.notes);
  assert.equal(c.notes.length, 2);
  assert.match(c.notes[0]!, /syscalls\[0\]\.names\[0\]: unknown syscall "no_such_call" on x86_64/);
  assert.match(c.notes[1]!, /names\[2\]: unknown syscall "arm_fadvise64_64"/);
});

Deno.test("seccomp: jumps farther than 255 instructions go through trampolines", () => {
  const many = Array.from({ length: 300 }, (_, i) => ({
    names: ["personality"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 0, value: 1000 + i, op: "SCMP_CMP_EQ" }],
  }));
  const c = compile({
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [
      ...many,
      {
        names: ["ioctl"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 1, value: 5, op: "SCMP_CMP_EQ" }],
      },
      { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
    ],
  });
  const insns = programLength(c.program);
  assert.ok(insns > 255 * 4, `${insns} instructions`);
  const view = new DataView(c.program.buffer);
  let longest = 0;
  for (let i = 0; i < insns; i++) {
    if (view.getUint16(i * 8, true) === 0x05) {
      longest = Math.max(longest, view.getUint32(i * 8 + 4, true));
    }
  }
  assert.ok(longest > 255, `a JA spans ${longest} instructions`);
  const pers = (a: number) => decide(c.program, "x86_64", "personality", [a]);
  assert.equal(pers(1000), ALLOW);
  assert.equal(pers(1150), ALLOW);
  assert.equal(pers(1299), ALLOW);
  assert.equal(pers(1300), EPERM);
  assert.equal(pers(999), EPERM);
  assert.equal(decide(c.program, "x86_64", "ioctl", [0, 5]), ALLOW, "past the long body");
  assert.equal(decide(c.program, "x86_64", "ioctl", [0, 6]), EPERM);
  assert.equal(decide(c.program, "x86_64", "write"), ALLOW);
  assert.equal(decide(c.program, "x86_64", "getpid"), EPERM);
});

Deno.test("seccomp: hundreds of unconditional syscalls with several actions", () => {
  const names = [...syscallTable("x86_64").keys()];
  const actions: [string, number][] = [
    ["SCMP_ACT_ALLOW", ALLOW],
    ["SCMP_ACT_LOG", SECCOMP_RET.LOG],
    ["SCMP_ACT_TRAP", SECCOMP_RET.TRAP],
  ];
  const c = compile({
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: names.map((n, i) => ({ names: [n], action: actions[i % 3]![0] })),
  });
  assert.ok(names.length > 300);
  names.forEach((n, i) => assert.equal(decide(c.program, "x86_64", n), actions[i % 3]![1], n));
  assert.equal(decide(c.program, "x86_64", 1000), EPERM);
});

Deno.test("seccomp: errors name the field", () => {
  const bad = (p: unknown, re: RegExp) =>
    assert.throws(() => compile(p), (e: unknown) => e instanceof DenkiError && re.test(e.message));
  bad(
    {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{
        names: ["read"],
        action: "SCMP_ACT_ERRNO",
        args: [{ index: 7, value: 0, op: "SCMP_CMP_EQ" }],
      }],
    },
    /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: must be from 0 to 5, not 7$/,
  );
  bad(
    { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_NOTIFY" }] },
    /^linux\.seccomp\.listenerPath: is required by SCMP_ACT_NOTIFY$/,
  );
  bad(
    {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: 70000 }],
    },
    /^linux\.seccomp\.syscalls\[0\]\.errnoRet: 70000 does not fit/,
  );
  const huge = Array.from({ length: 1100 }, (_, i) => ({
    names: ["ioctl"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 1, value: i, op: "SCMP_CMP_EQ" }],
  }));
  bad(
    { defaultAction: "SCMP_ACT_ERRNO", syscalls: huge },
    new RegExp(
      `^linux\\.seccomp: the filter needs \\d+ BPF instructions, more than the kernel's ${BPF_MAXINSNS}$`,
    ),
  );
});

Deno.test("seccomp: flags", () => {
  const c = compile({
    defaultAction: "SCMP_ACT_ALLOW",
    flags: [
      "SECCOMP_FILTER_FLAG_LOG",
      "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
      "SECCOMP_FILTER_FLAG_TSYNC",
    ],
  });
  assert.equal(c.flags, SECCOMP_FILTER_FLAG.LOG | SECCOMP_FILTER_FLAG.SPEC_ALLOW);
  assert.match(c.notes.join("\n"), /TSYNC not needed/);
  const notify = compile({
    defaultAction: "SCMP_ACT_ALLOW",
    listenerPath: "/run/agent.sock",
    flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
    syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
  });
  assert.equal(
    notify.flags,
    SECCOMP_FILTER_FLAG.NEW_LISTENER | SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
  );
  const plain = compile({
    defaultAction: "SCMP_ACT_ALLOW",
    flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
  });
  assert.equal(plain.flags, 0, "meaningless without a listener, which the kernel would refuse");
});

const PROFILE = "/usr/share/containers/seccomp.json";
const haveProfile = (() => {
  try {
    return Deno.statSync(PROFILE).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: `seccomp: the containers-common default profile${
    haveProfile ? "" : ` [skipped: ${PROFILE} is missing (Debian: golang-github-containers-common)]`
  }`,
  ignore: !haveProfile,
  fn() {
    const caps = defaultSpec({ rootless: false, uid: 0, gid: 0 }).process?.capabilities?.bounding ??
      [];
    const json = JSON.parse(Deno.readTextFileSync(PROFILE));
    for (const arch of ["x86_64", "aarch64"] as const) {
      const c = compileSeccomp(fromContainersProfile(json, arch, caps), arch);
      checkProgram(c.program);
      assert.ok(programLength(c.program) <= BPF_MAXINSNS);
      const native = arch;
      for (const name of ["read", "write", "exit_group", "execve", "openat", "mkdirat", "clone"]) {
        assert.equal(decide(c.program, native, name, [0]), ALLOW, `${arch} ${name}`);
      }
      assert.equal(decide(c.program, native, "kexec_load"), EPERM);
      assert.equal(decide(c.program, native, "open_by_handle_at"), EPERM, "no CAP_DAC_READ_SEARCH");
      assert.equal(decide(c.program, native, 1000), errno(38), "unknown calls: ENOSYS");
      assert.equal(decide(c.program, native, "personality", [0]), ALLOW);
      assert.equal(decide(c.program, native, "personality", [0x41]), errno(38));
      const compat = arch === "x86_64" ? "x86" : "arm";
      assert.equal(decide(c.program, compat, "read"), ALLOW);
      assert.equal(decide(c.program, compat, "kexec_load"), EPERM);
    }
    const x = compileSeccomp(fromContainersProfile(json, "x86_64", caps), "x86_64");
    assert.equal(decide(x.program, "x86_64", "arch_prctl"), ALLOW);
    assert.equal(decide(x.program, "x32", "read"), ALLOW);
  },
});
