/**
 * Derives the matrix's tight seccomp allowlist (tests/support/tight_seccomp.ts) by tracing:
 * runc runs the matrix's workloads (tests/support/hostile.ts) under podman's default profile,
 * with and without no_new_privs, each command under `strace -f`. From each trace it keeps the
 * system calls runc's init makes from the moment its filter is loaded to the workload's execve
 * (what runc itself needs from a profile), and every call the workload and its children make
 * afterwards. It prints the module; regenerate with
 *   deno run -A tests/support/derive_seccomp.ts > tests/support/tight_seccomp.ts && deno fmt
 */
import { busyboxRootfs } from "./container.ts";
import { applyHostile, type Hostile, WORKLOADS } from "./hostile.ts";
import { baseConfig } from "./container.ts";

/** One system call as strace reported it. */
interface Call {
  pid: number;
  name: string;
  args: string;
  ret: string;
  /** Line where it started and where it returned (its "resumed" line, if it was split). */
  start: number;
  end: number;
}

/** The calls of an `strace -f -o` file, in the order they started. */
export function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const pending = new Map<number, Call>();
  text.split("\n").forEach((line, i) => {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) return;
    const pid = Number(m[1]);
    const rest = m[2]!;
    const resumed = /^<\.\.\. (\w+) resumed>.*?(?:\)\s+= (.*))?$/.exec(rest);
    if (resumed) {
      const c = pending.get(pid);
      if (c) {
        c.ret = resumed[2] ?? "?";
        c.end = i;
        pending.delete(pid);
      }
      return;
    }
    const call = /^(\w+)\((.*)$/.exec(rest);
    if (!call) return;
    const c: Call = { pid, name: call[1]!, args: call[2]!, ret: "?", start: i, end: i };
    if (rest.endsWith("<unfinished ...>")) pending.set(pid, c);
    else c.ret = /\)\s+= (.*)$/.exec(rest)?.[1] ?? "?";
    calls.push(c);
  });
  return calls;
}

/** What runc's init needs after its filter, and what the workload used. */
export function postFilter(calls: Call[]): { runtime: Set<string>; workload: Set<string> } {
  // Thread groups and parents, from the clones.
  const group = new Map<number, number>();
  const parent = new Map<number, number>();
  const tg = (pid: number) => group.get(pid) ?? pid;
  for (const c of calls) {
    if (!["clone", "clone3", "fork", "vfork"].includes(c.name)) continue;
    // A child in another pid namespace: strace translates its pid (--pidns-translation).
    const child = Number(
      /in strace's PID NS/.test(c.ret)
        ? /(\d+) in strace's PID NS/.exec(c.ret)![1]
        : c.ret.split(" ")[0],
    );
    if (!(child > 0)) continue;
    if (c.args.includes("CLONE_THREAD")) group.set(child, tg(c.pid));
    else parent.set(child, tg(c.pid));
  }
  const loads = calls.find((c) =>
    !c.ret.startsWith("-1") &&
    ((c.name === "prctl" && c.args.startsWith("PR_SET_SECCOMP, SECCOMP_MODE_FILTER")) ||
      (c.name === "seccomp" && c.args.startsWith("SECCOMP_SET_MODE_FILTER") &&
        c.args.includes("{len=")))
  );
  if (!loads) throw new Error("the trace has no seccomp filter being loaded");
  const init = tg(loads.pid);
  const exec = calls.find((c) =>
    c.start > loads.start && c.name === "execve" && tg(c.pid) === init && c.ret === "0"
  );
  if (!exec) throw new Error("the trace has no execve of the workload after the filter");
  const descends = (pid: number): boolean => {
    for (let p: number | undefined = tg(pid); p !== undefined; p = parent.get(p)) {
      if (p === init) return true;
    }
    return false;
  };
  const runtime = new Set<string>();
  const workload = new Set<string>();
  for (const c of calls) {
    if (c.start >= loads.start && c.start <= exec.end && tg(c.pid) === init) runtime.add(c.name);
    else if (c.start > exec.end && descends(c.pid)) workload.add(c.name);
  }
  return { runtime, workload };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sh(cmd: string[], what: string): Promise<void> {
  const r = await new Deno.Command(cmd[0]!, { args: cmd.slice(1), stdout: "null", stderr: "piped" })
    .output();
  if (!r.success) throw new Error(`${what}: ${new TextDecoder().decode(r.stderr)}`);
}

/** Traces every workload of the matrix under runc with configuration `h`. */
async function traceAll(h: Hostile, dir: string): Promise<string[]> {
  const root = `${dir}/runc`;
  const shared = `${dir}/shared`;
  Deno.mkdirSync(shared, { recursive: true });
  let n = 0;
  const bundle = (args: string[]) => {
    const b = `${dir}/b${n++}`;
    Deno.mkdirSync(b);
    new Deno.Command("cp", { args: ["-a", busyboxRootfs(), `${b}/rootfs`] }).outputSync();
    const c = baseConfig();
    c.process.args = args;
    c.mounts.push({ destination: "/shared", type: "bind", source: shared, options: ["rbind"] });
    applyHostile(h, c);
    Deno.writeTextFileSync(`${b}/config.json`, JSON.stringify(c));
    return b;
  };
  const traces: string[] = [];
  const trace = (cmd: string[]) => {
    const file = `${dir}/trace${traces.length}`;
    traces.push(file);
    return [
      "strace",
      "-f",
      "-qq",
      "--pidns-translation",
      "-o",
      file,
      "runc",
      "--root",
      root,
      ...cmd,
    ];
  };
  const runc = (cmd: string[]) => sh(["runc", "--root", root, ...cmd], `runc ${cmd[0]}`);
  const waitFile = async (f: string) => {
    for (let i = 0; i < 500 && !exists(`${shared}/${f}`); i++) await sleep(20);
  };
  // Foreground run.
  await sh(trace(["run", "--bundle", bundle(["sh", "-c", WORKLOADS.print("M")]), "r1"]), "run");
  // create / start / kill: strace returns once the container has exited.
  const life = new Deno.Command(
    "sh",
    {
      args: [
        "-c",
        'exec "$@" >/dev/null 2>&1',
        "sh",
        ...trace([
          "create",
          "--bundle",
          bundle(["sh", "-c", WORKLOADS.recordUntilTerm("M", "life")]),
          "l1",
        ]),
      ],
    },
  ).spawn();
  for (let i = 0; i < 500 && !exists(`${root}/l1/state.json`); i++) await sleep(20);
  await sleep(200);
  await runc(["start", "l1"]);
  await waitFile("life");
  await runc(["kill", "l1", "TERM"]);
  await life.status;
  await runc(["delete", "l1"]);
  // The holder of the exec checks, and the execs.
  const holder = new Deno.Command("sh", {
    args: [
      "-c",
      'exec "$@" >/dev/null 2>&1',
      "sh",
      ...trace([
        "run",
        "-d",
        "--bundle",
        bundle(["sh", "-c", WORKLOADS.recordAndSleep("M", "holder")]),
        "h1",
      ]),
    ],
  }).spawn();
  await waitFile("holder");
  await sh(trace(["exec", "h1", "sh", "-c", WORKLOADS.print("M")]), "exec");
  await sh(trace(["exec", "h1", "sh", "-c", WORKLOADS.record("M", "execd")]), "exec -d");
  // A terminal for exec -t: util-linux script gives the command a pty.
  const tty = trace(["exec", "-t", "h1", "sh", "-c", WORKLOADS.tty("M")]).map(quote);
  await sh(["script", "-qec", tty.join(" "), "/dev/null"], "exec -t");
  await runc(["delete", "--force", "h1"]);
  await holder.status;
  return traces;
}

/** `arg` quoted for sh. */
function quote(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Calls Go's runtime may make on runc's init thread at any moment (scheduling, memory,
 * preemption signals), whether or not one trace caught them.
 */
const GO_RUNTIME = [
  "futex",
  "nanosleep",
  "sched_yield",
  "mmap",
  "munmap",
  "madvise",
  "mprotect",
  "rt_sigreturn",
  "rt_sigprocmask",
  "sigaltstack",
  "gettid",
  "getpid",
  "tgkill",
  "exit",
  "exit_group",
];

async function main(): Promise<void> {
  const runtime = new Set<string>();
  const workload = new Set<string>();
  const dir = Deno.makeTempDirSync({ prefix: "denki-derive-" });
  try {
    for (const nnp of [false, true]) {
      const h: Hostile = { name: "trace", profile: "containers-common", nnp, rlimits: false };
      const sub = `${dir}/${nnp ? "nnp" : "plain"}`;
      Deno.mkdirSync(sub);
      for (const file of await traceAll(h, sub)) {
        const got = postFilter(parseTrace(Deno.readTextFileSync(file)));
        got.runtime.forEach((n) => runtime.add(n));
        got.workload.forEach((n) => workload.add(n));
      }
    }
  } finally {
    await new Deno.Command("umount", { args: ["-R", dir], stderr: "null" }).output();
    Deno.removeSync(dir, { recursive: true });
  }
  const version = new TextDecoder().decode(
    new Deno.Command("runc", { args: ["--version"], stdout: "piped" }).outputSync().stdout,
  ).split("\n")[0];
  const all = new Set([...runtime, ...GO_RUNTIME, ...workload]);
  // The point of the profile: the runtime must not need it after the filter.
  all.delete("close_range");
  const list = (s: Iterable<string>) => [...s].sort().map((n) => `  "${n}",`).join("\n");
  console.log(`/**
 * The matrix's tight seccomp allowlist, derived by tests/support/derive_seccomp.ts (do not edit;
 * regenerate) with ${version} on ${Deno.build.arch}. It is what runc's init calls after its
 * filter is loaded (RUNC_AFTER_FILTER, plus the calls Go's runtime may make at any moment), and
 * what the matrix's busybox workloads call (WORKLOAD), and nothing else: close_range is left
 * out on purpose, since a runtime must not need it after the filter (issue 12).
 */

/** What runc's init called between loading its filter and the workload's execve. */
export const RUNC_AFTER_FILTER: readonly string[] = [
${list(runtime)}
];

/** What the workloads (busybox sh and its applets) called. */
export const WORKLOAD: readonly string[] = [
${list(workload)}
];

/** The allowlist: both of the above, Go's runtime calls, and no close_range. */
export const TIGHT_SYSCALLS: readonly string[] = [
${list(all)}
];`);
}

if (import.meta.main) await main();
