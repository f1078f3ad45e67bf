/**
 * cgroup v2 device control end to end: the kernel verifier must accept what devicesProgram
 * builds, and a process in a cgroup with the program attached must get exactly the device
 * access the rules grant. Needs root and a cgroup2 mount at /sys/fs/cgroup/unified.
 */
import assert from "node:assert/strict";
import { type DeviceRule, devicesProgram } from "../lib/plan/bpf_devices.ts";
import {
  attachDeviceProgram,
  BpfLoadError,
  detachDeviceProgram,
  loadDeviceProgram,
  queryDevicePrograms,
} from "../lib/sys/bpf.ts";
import { close, O_CLOEXEC, O_DIRECTORY, O_RDONLY, open } from "../lib/sys/syscalls.ts";
import { type Requirement, root, testWith } from "./support/requires.ts";

const CGROUP2 = "/sys/fs/cgroup/unified";

/** Requirement: cgroup2 is mounted at CGROUP2 (the hybrid layout). */
function cgroup2(): Requirement {
  try {
    const mounted = Deno.readTextFileSync("/proc/self/mounts").split("\n")
      .some((l) => l.split(" ")[1] === CGROUP2 && l.split(" ")[2] === "cgroup2");
    return mounted ? undefined : `no cgroup2 mounted at ${CGROUP2}`;
  } catch {
    return "cannot read /proc/self/mounts";
  }
}

/** Runs every step even if one fails, then throws the first failure. */
function cleanup(steps: (() => void)[]): void {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
}

/** rmdir of a cgroup, retried briefly in case the exited child still counts as a member. */
async function removeCgroup(dir: string): Promise<void> {
  for (let i = 0;; i++) {
    try {
      Deno.removeSync(dir);
      return;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      if (i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

interface Attached {
  dir: string;
  cgroupFd: number;
  progFd: number;
  attached: boolean;
}

let serial = 0;

/**
 * Creates a child cgroup, attaches the program built from `rules`, runs `body`, and always
 * detaches, closes and removes the cgroup afterwards.
 */
async function withDeviceCgroup(
  rules: readonly DeviceRule[],
  body: (cg: Attached) => Promise<void>,
): Promise<void> {
  const dir = `${CGROUP2}/denki-bpf-test-${Deno.pid}-${serial++}`;
  Deno.mkdirSync(dir);
  const cg: Attached = { dir, cgroupFd: -1, progFd: -1, attached: false };
  try {
    cg.cgroupFd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cg.progFd = loadDeviceProgram(devicesProgram(rules));
    attachDeviceProgram(cg.cgroupFd, cg.progFd);
    cg.attached = true;
    await body(cg);
  } finally {
    cleanup([
      () => cg.attached && detachDeviceProgram(cg.cgroupFd, cg.progFd),
      () => cg.progFd >= 0 && close(cg.progFd),
      () => cg.cgroupFd >= 0 && close(cg.cgroupFd),
    ]);
    await removeCgroup(dir);
  }
}

/** Runs `script` in a shell that first moves itself into the cgroup at `dir`; waits for it. */
async function runIn(dir: string, script: string, ...args: string[]) {
  const out = await new Deno.Command("sh", {
    args: ["-c", `echo $$ > "$0/cgroup.procs" || exit 99\n${script}`, dir, ...args],
    stdin: "null",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const needs = [root(), cgroup2()];

testWith("cgroup bpf: deny all but /dev/null", needs, async () => {
  const rules: DeviceRule[] = [
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
  ];
  await withDeviceCgroup(rules, async (cg) => {
    assert.equal(queryDevicePrograms(cg.cgroupFd).length, 1);
    const r = await runIn(
      cg.dir,
      `head -c1 /dev/zero > /dev/null; echo "zero=$?"
cat /dev/null; echo "null=$?"`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "zero=1\nnull=0\n", r.stderr);
    assert.match(r.stderr, /\/dev\/zero.*Operation not permitted/);

    detachDeviceProgram(cg.cgroupFd, cg.progFd);
    cg.attached = false;
    assert.deepEqual(queryDevicePrograms(cg.cgroupFd), []);
    const after = await runIn(cg.dir, `head -c1 /dev/zero > /dev/null; echo "zero=$?"`);
    assert.equal(after.stdout, "zero=0\n", "detaching lifts the restriction");
  });
});

testWith("cgroup bpf: partial access and mknod", needs, async () => {
  const rules: DeviceRule[] = [
    { allow: false },
    { allow: true, type: "c", major: 1, minor: 3, access: "r" },
    { allow: true, type: "c", major: 1, minor: 5, access: "m" },
  ];
  const tmp = Deno.makeTempDirSync({ prefix: "denki-bpf-" });
  try {
    await withDeviceCgroup(rules, async (cg) => {
      const r = await runIn(
        cg.dir,
        `cat /dev/null; echo "read=$?"
( : > /dev/null ); echo "write=$?"
mknod "$1/zero" c 1 5; echo "mknod-zero=$?"
mknod "$1/null" c 1 3; echo "mknod-null=$?"`,
        tmp,
      );
      assert.equal(r.stdout, "read=0\nwrite=2\nmknod-zero=0\nmknod-null=1\n", r.stderr);
      assert.match(r.stderr, /\/dev\/null: Operation not permitted/);
    });
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

testWith("cgroup bpf: the verifier accepts 3000 rules", [root()], () => {
  const rules: DeviceRule[] = [{ allow: false, access: "rwm" }];
  for (let i = 0; i < 3000; i++) {
    rules.push({
      allow: i % 3 !== 0,
      type: i % 2 ? "c" : "b",
      major: i % 17,
      minor: i,
      access: "rw",
    });
  }
  // Shapes that make some branches constant for the verifier must load too.
  rules.push({ allow: false, access: "" }, { allow: true, type: "a", access: "rwm" });
  rules.push({ allow: true, major: 10n, minor: -1n, access: "m" });
  const fd = loadDeviceProgram(devicesProgram(rules));
  assert.ok(fd >= 0);
  close(fd);
});

testWith("cgroup bpf: a rejected program reports the verifier's reason", [root()], () => {
  // r0 = 2; exit: a device program must return 0 or 1.
  const prog = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(
    () => loadDeviceProgram(prog),
    (err: unknown) =>
      err instanceof BpfLoadError && err.errno === 22 &&
      /should have been in \[0, 1\]/.test(err.message),
  );
});
