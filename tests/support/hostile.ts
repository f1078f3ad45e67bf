/**
 * The hostile matrix (issue 12): configurations that broke workloads while every check passed
 * (a strict allowlist seccomp profile with and without no_new_privs, tight rlimits, and their
 * combinations), and the checks run under each. Every check reads back what the workload itself
 * printed: a marker unique to the check, and the workload's own view of the configuration
 * (`Seccomp:`, `NoNewPrivs:` and its limits), so a workload that never ran, or ran without the
 * configuration, fails. The checks drive a runtime only through its command line
 * (tests/conformance/runtime.ts), so runc runs the very same cells as the control.
 */
import assert from "node:assert/strict";
import { fromContainersProfile } from "../../lib/plan/testing/containers_profile.ts";
import { acceptUnix, listenUnix, recvWithFds } from "../../lib/sys/unix.ts";
import { POLLIN } from "../../lib/plan/abi.ts";
import * as sc from "../../lib/sys/syscalls.ts";
import {
  alive,
  firstLine,
  freshId,
  type Json,
  readOr,
  type Runtime,
  type Scratch,
  waitFor,
} from "../conformance/runtime.ts";
import { type Requirement } from "./requires.ts";
import { TIGHT_SYSCALLS } from "./tight_seccomp.ts";

/** Debian's copy of podman's default profile (package golang-github-containers-common). */
export const CONTAINERS_PROFILE = "/usr/share/containers/seccomp.json";

/** A seccomp profile of the matrix. */
export type ProfileName = "containers-common" | "tight";

/** One hostile configuration: a profile (or none), no_new_privs, and the tight rlimits. */
export interface Hostile {
  /** Short name used in test names and conformance ids, e.g. `tight+nnp+rlimits`. */
  name: string;
  profile?: ProfileName | undefined;
  nnp: boolean;
  rlimits: boolean;
}

const GIB = 1 << 30;

/** The tight limits: each one breaks Deno (or its threads) if it lands on the runtime itself. */
export const TIGHT_RLIMITS = [
  { type: "RLIMIT_AS", soft: GIB, hard: GIB },
  { type: "RLIMIT_NOFILE", soft: 64, hard: 64 },
  { type: "RLIMIT_NPROC", soft: 50, hard: 50 },
] as const;

function hostile(profile: ProfileName | undefined, nnp: boolean, rlimits: boolean): Hostile {
  const parts = [profile ?? "no-seccomp", ...(nnp ? ["nnp"] : []), ...(rlimits ? ["rlimits"] : [])];
  return { name: parts.join("+"), profile, nnp, rlimits };
}

/**
 * The matrix's configurations: (a) each profile without no_new_privs, (b) with it, (c) the
 * tight rlimits alone, and (c) combined with each of (a) and (b).
 */
export const CONFIGS: readonly Hostile[] = [
  hostile("containers-common", false, false),
  hostile("containers-common", true, false),
  hostile("tight", false, false),
  hostile("tight", true, false),
  hostile(undefined, false, true),
  hostile("containers-common", false, true),
  hostile("containers-common", true, true),
  hostile("tight", false, true),
  hostile("tight", true, true),
];

/** What a configuration needs from the machine beyond what container tests need. */
export function hostileReqs(h: Hostile): Requirement[] {
  if (h.profile !== "containers-common") return [];
  try {
    Deno.statSync(CONTAINERS_PROFILE);
    return [];
  } catch {
    return [`${CONTAINERS_PROFILE} is missing (Debian: golang-github-containers-common)`];
  }
}

/** The native architectures' names in profiles. */
const SCMP_ARCH: Record<string, string[]> = {
  x86_64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  aarch64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
};

/**
 * The tight profile: an allowlist of exactly TIGHT_SYSCALLS (see tight_seccomp.ts for how it was
 * traced), everything else EPERM. It has no close_range.
 */
export function tightProfile(): Json {
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    architectures: SCMP_ARCH[Deno.build.arch] ?? [],
    syscalls: [{ names: [...TIGHT_SYSCALLS], action: "SCMP_ACT_ALLOW" }],
  };
}

/** `linux.seccomp` for `profile`, for a container whose bounding set is `caps`. */
export function seccompFor(profile: ProfileName, caps: readonly string[]): Json {
  if (profile === "tight") return tightProfile();
  const json = JSON.parse(Deno.readTextFileSync(CONTAINERS_PROFILE));
  return fromContainersProfile(json, Deno.build.arch as "x86_64" | "aarch64", caps);
}

/** Puts the configuration `h` into a config. */
export function applyHostile(h: Hostile, c: Json): void {
  c.process.noNewPrivileges = h.nnp;
  if (h.profile !== undefined) {
    c.linux.seccomp = seccompFor(h.profile, c.process.capabilities.bounding);
  }
  if (h.rlimits) c.process.rlimits = TIGHT_RLIMITS.map((r) => ({ ...r }));
}

/**
 * Shell commands after which a workload has printed its own view of the configuration: the
 * seccomp mode and no_new_privs of its status, and the limits the matrix sets.
 */
export const EVIDENCE = "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; " +
  "grep -E '^Max (address space|open files|processes) ' /proc/self/limits";

/** The workloads of the checks (the tight profile is traced from exactly these). */
export const WORKLOADS = {
  /** Foreground `run` and `exec`: the marker and the evidence on stdout. */
  print: (marker: string) => `echo ${marker}; ${EVIDENCE}`,
  /** Writes the marker and the evidence to `/shared/<file>` (whole, by a rename). */
  record: (marker: string, file: string) =>
    `{ echo ${marker}; ${EVIDENCE}; } > /shared/${file}.tmp && mv /shared/${file}.tmp /shared/${file}`,
  /** Records, then keeps running: the init of a detached container. */
  recordAndSleep: (marker: string, file: string) =>
    `${WORKLOADS.record(marker, file)}; exec sleep 60`,
  /** Records, then waits for SIGTERM, which it answers with a second line before it exits. */
  recordUntilTerm: (marker: string, file: string) =>
    `trap 'echo term-${marker} >> /shared/${file}-term; exit 0' TERM; ` +
    `${WORKLOADS.record(marker, file)}; while :; do sleep 0.1; done`,
  /** On a terminal: the tty's name, then the marker and the evidence. */
  tty: (marker: string) => `tty; echo ${marker}; ${EVIDENCE}`,
} as const;

/** A marker no earlier run can have left behind. */
export function marker(what: string): string {
  return `MARK-${what}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * Asserts that `text` (a workload's output) has the marker on a line of its own and the
 * evidence of configuration `h`: seccomp mode 2 with a profile and 0 without, no_new_privs as
 * configured, and the tight limits when they are set.
 */
export function assertRan(h: Hostile, text: string, mark: string, where: string): void {
  const lines = text.replaceAll("\r\n", "\n").split("\n");
  assert.ok(lines.includes(mark), `${where}: the workload's marker is missing: ${brief(text)}`);
  const field = (re: RegExp) => lines.map((l) => re.exec(l)?.[1]).find((v) => v !== undefined);
  assert.equal(field(/^Seccomp:\s+(\d+)$/), h.profile ? "2" : "0", `${where}: Seccomp mode`);
  assert.equal(field(/^NoNewPrivs:\s+(\d+)$/), h.nnp ? "1" : "0", `${where}: NoNewPrivs`);
  const limit = (name: string) => {
    const re = new RegExp(`^Max ${name}\\s+(\\S+)\\s+(\\S+)`);
    const m = lines.map((l) => re.exec(l)).find((v) => v !== null);
    assert.ok(m, `${where}: no "Max ${name}" line: ${brief(text)}`);
    return `${m[1]}/${m[2]}`;
  };
  if (h.rlimits) {
    assert.equal(limit("address space"), `${GIB}/${GIB}`, `${where}: RLIMIT_AS`);
    assert.equal(limit("open files"), "64/64", `${where}: RLIMIT_NOFILE`);
    assert.equal(limit("processes"), "50/50", `${where}: RLIMIT_NPROC`);
  } else {
    assert.equal(limit("address space"), "unlimited/unlimited", `${where}: RLIMIT_AS`);
  }
}

/** A workload's output quoted for a failure message, cut at 300 characters. */
export function brief(text: string): string {
  const t = JSON.stringify(text);
  return t.length > 300 ? `${t.slice(0, 297)}...` : t;
}

/** Waits until `/shared/<file>` (written whole by the workload) exists; returns its text. */
export async function recorded(s: Scratch, file: string, what: string): Promise<string> {
  const path = `${s.shared}/${file}`;
  await waitFor(() => readOr(path) !== "", 10_000, () => `${what}: the workload wrote nothing`);
  return readOr(path);
}

/** A command's status and first line of stderr, for failure messages. */
export function why(r: { code: number; stderr: string }): string {
  return `exit ${r.code}: ${firstLine(r.stderr)}`;
}

/** A config patch: the hostile configuration, the shared directory, and `args`. */
export function patch(s: Scratch, h: Hostile, args: string[]): (c: Json) => void {
  return (c) => {
    s.share(c);
    c.process.args = args;
    applyHostile(h, c);
  };
}

/** One check of the matrix, run against one runtime inside a Scratch. */
export type MatrixCheck = (rt: Runtime, s: Scratch, h: Hostile) => Promise<void>;

/** create, state, start, state, kill (TERM, which the workload answers), state, delete. */
const lifecycle: MatrixCheck = async (rt, s, h) => {
  const mark = marker("life");
  const { id } = await s.create(patch(s, h, ["sh", "-c", WORKLOADS.recordUntilTerm(mark, "life")]));
  const created = await s.state(id);
  assert.equal(created.status, "created");
  assert.ok(alive(created.pid), "state: the created container's process is not alive");
  assert.equal(readOr(`${s.shared}/life`), "", "the workload ran before start");
  const start = await rt.run(["start", id]);
  assert.equal(start.code, 0, `start: ${why(start)}`);
  assertRan(h, await recorded(s, "life", "start"), mark, "start");
  assert.equal((await s.state(id)).status, "running", "state after start");
  const kill = await rt.run(["kill", id, "TERM"]);
  assert.equal(kill.code, 0, `kill: ${why(kill)}`);
  assert.equal(await recorded(s, "life-term", "kill"), `term-${mark}\n`, "kill: the TERM trap");
  await s.waitStatus(id, "stopped");
  const del = await rt.run(["delete", id]);
  assert.equal(del.code, 0, `delete: ${why(del)}`);
  assert.notEqual((await rt.run(["state", id])).code, 0, "state works after delete");
};

/** `run` in the foreground: the workload's stdout, and its exit status. */
const runForeground: MatrixCheck = async (rt, s, h) => {
  const mark = marker("run");
  const b = s.bundle(patch(s, h, ["sh", "-c", `${WORKLOADS.print(mark)}; exit 3`]));
  const r = await rt.run(["run", "--bundle", b.dir, freshId()]);
  assertRan(h, r.stdout, mark, `run (${why(r)})`);
  assert.equal(r.code, 3, `run: the workload's status (${why(r)})`);
};

/** A detached container for the exec checks (its own marker read back first). */
async function holder(rt: Runtime, s: Scratch, h: Hostile): Promise<string> {
  const mark = marker("holder");
  const { id } = await s.detached(
    patch(s, h, ["sh", "-c", WORKLOADS.recordAndSleep(mark, "holder")]),
  );
  assertRan(h, await recorded(s, "holder", "run -d"), mark, "run -d");
  const st = await s.state(id);
  assert.equal(st.status, "running");
  await waitFor(
    () => readOr(`/proc/${st.pid}/cmdline`) === "sleep\x0060\x00",
    5000,
    () => `run -d: the init does not run the workload's sleep (${rt.name})`,
  );
  return id;
}

/** `run -d`: the workload records, then runs on; delete --force ends it. */
const runDetached: MatrixCheck = async (rt, s, h) => {
  const id = await holder(rt, s, h);
  const pid = (await s.state(id)).pid;
  const del = await rt.run(["delete", "--force", id]);
  assert.equal(del.code, 0, `delete --force: ${why(del)}`);
  await waitFor(() => !alive(pid), 5000, () => "delete --force: the workload survived");
};

/** Foreground `exec` into a running container: its stdout and status. */
const execForeground: MatrixCheck = async (rt, s, h) => {
  const id = await holder(rt, s, h);
  const mark = marker("exec");
  const r = await rt.run(["exec", id, "sh", "-c", `${WORKLOADS.print(mark)}; exit 4`]);
  assertRan(h, r.stdout, mark, `exec (${why(r)})`);
  assert.equal(r.code, 4, `exec: the process's status (${why(r)})`);
};

/** `exec -d --pid-file`: the process records what it saw. */
const execDetached: MatrixCheck = async (rt, s, h) => {
  const id = await holder(rt, s, h);
  const mark = marker("execd");
  const pidFile = `${s.dir}/exec.pid`;
  const r = await rt.run(
    ["exec", "-d", "--pid-file", pidFile, id, "sh", "-c", WORKLOADS.record(mark, "execd")],
    { files: true },
  );
  assert.equal(r.code, 0, `exec -d: ${why(r)}`);
  assert.ok(Number(readOr(pidFile)) > 0, "exec -d: no pid in the pid file");
  assertRan(h, await recorded(s, "execd", "exec -d"), mark, "exec -d");
};

/** Waits without blocking the event loop until `fd` is readable; false after `ms`. */
async function readable(fd: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((sc.pollOne(fd, POLLIN, 0) & POLLIN) !== 0) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/** Reads a pty master until the other side is gone (EIO) or `ms` pass. */
async function readAll(fd: number, done: (t: string) => boolean, ms = 10_000): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  const end = Date.now() + ms;
  while (!done(text) && Date.now() < end) {
    if (!(await readable(fd, 50))) continue;
    const r = sc.tryRead(fd, buf);
    if (r.errno !== 0 || r.n === 0) break;
    text += new TextDecoder().decode(buf.subarray(0, r.n));
  }
  return text;
}

/** `exec -t -d --console-socket`: the master arrives; the process's output comes through it. */
const execTty: MatrixCheck = async (rt, s, h) => {
  const id = await holder(rt, s, h);
  const mark = marker("tty");
  const path = `${s.dir}/console.sock`;
  const listener = listenUnix(path);
  try {
    const r = await rt.run(
      ["exec", "-t", "-d", "--console-socket", path, id, "sh", "-c", WORKLOADS.tty(mark)],
      { files: true },
    );
    assert.equal(r.code, 0, `exec -t -d: ${why(r)}`);
    assert.ok(await readable(listener, 10_000), "exec -t: nothing connected to the console socket");
    const conn = acceptUnix(listener);
    let fds: number[];
    try {
      assert.ok(await readable(conn, 10_000), "exec -t: no master was sent");
      fds = recvWithFds(conn).fds;
    } finally {
      sc.close(conn);
    }
    assert.equal(fds.length, 1, "exec -t: one descriptor, the master");
    try {
      // /proc/self/limits lists address space last of the three: the whole evidence is in.
      const out = await readAll(fds[0]!, (t) => /Max address space[^\n]*\n/.test(t));
      assert.match(out, /^\/dev\/pts\/\d+\r\n/, `exec -t: not on a terminal: ${brief(out)}`);
      assertRan(h, out, mark, "exec -t");
    } finally {
      for (const fd of fds) sc.close(fd);
    }
  } finally {
    sc.close(listener);
  }
};

/** The Linux checks of the matrix, by name. */
export const LINUX_CHECKS: Readonly<Record<string, MatrixCheck>> = {
  "lifecycle (create, start, state, kill, delete)": lifecycle,
  "run": runForeground,
  "run -d": runDetached,
  "exec": execForeground,
  "exec -d": execDetached,
  "exec -t -d --console-socket": execTty,
};
