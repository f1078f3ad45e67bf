/**
 * Container lifecycle, side by side with runc (and crun where it runs), against issue 13's
 * targets: `create; start; wait; delete`, `run` and `exec true` of a busybox bundle within
 * 2.0x runc; each command against an empty Deno script with denki's flags (create <= 2.0x,
 * start/state/kill/delete <= 1.3x); the CPU the CLI processes burn per lifecycle <= 2.5x
 * runc's. "denki" runs the bundle as the compiled binary does (Deno straight on the bundled
 * entry); "denki (bin/denki)" adds the checkout's shell launcher (its source-freshness check).
 */
import type { BenchContext } from "./context.ts";
import { type Case, measure, report, type Timing } from "./measure.ts";

/** A runtime under test: its command, environment and state root. */
export interface Runtime {
  name: string;
  cmd: string[];
  env?: Record<string, string>;
  root: string;
}

let counter = 0;

/** Runs one runtime command; a failure throws with the last line of its log. */
export async function exec(rt: Runtime, args: string[]): Promise<void> {
  const [program, ...pre] = rt.cmd;
  // No pipes: a created container keeps the stdio it inherits, so errors go to a log file.
  const log = `${rt.root}.log`;
  const out = await new Deno.Command(program!, {
    args: [...pre, "--root", rt.root, "--log", log, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    ...(rt.env ? { env: rt.env } : {}),
  }).output();
  if (!out.success) {
    let said = "";
    try {
      said = Deno.readTextFileSync(log).trim().split("\n").at(-1) ?? "";
    } catch {
      // no log written
    }
    throw new Error(`${rt.name} ${args.join(" ")}: exit ${out.code}: ${said}`);
  }
}

async function waitExit(pid: number): Promise<void> {
  for (;;) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    } catch {
      return;
    }
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return;
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** CPU time (user + system, ms) of this process's waited-for children so far. */
function childrenCpuMs(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // cutime and cstime are fields 16 and 17 of stat (13 and 14 after the state field), in
  // clock ticks of 10 ms.
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** One lifecycle; adds each command's wall time to `split` when given. */
export async function lifecycle(
  rt: Runtime,
  bundle: string,
  dir: string,
  split?: Record<string, number[]>,
): Promise<void> {
  const id = `l${counter++}`;
  const pidFile = `${dir}/${id}.pid`;
  const timed = async (name: string, args: string[]) => {
    const t = performance.now();
    await exec(rt, args);
    split?.[name]?.push(performance.now() - t);
  };
  await timed("create", ["create", "--bundle", bundle, "--pid-file", pidFile, id]);
  const pid = Number(Deno.readTextFileSync(pidFile));
  await timed("start", ["start", id]);
  await waitExit(pid);
  await timed("delete", ["delete", id]);
}

function cases(rt: Runtime, bundle: string, dir: string, running: string): Case[] {
  return [
    {
      name: `${rt.name}: create; start; wait; delete`,
      fn: () => lifecycle(rt, bundle, dir),
    },
    {
      name: `${rt.name}: run`,
      fn: () => exec(rt, ["run", "--bundle", bundle, `r${counter++}`]),
    },
    { name: `${rt.name}: exec true`, fn: () => exec(rt, ["exec", running, "true"]) },
  ];
}

/** Force-deletes every container left under a runtime's root. */
export async function removeAll(rt: Runtime): Promise<void> {
  let ids: string[] = [];
  try {
    ids = [...Deno.readDirSync(rt.root)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    return;
  }
  for (const id of ids) await exec(rt, ["delete", "--force", id]).catch(() => {});
}

/** Whether a runtime can run the bundle on this machine (crun refuses hybrid cgroups). */
async function works(rt: Runtime, bundle: string): Promise<string | undefined> {
  try {
    await exec(rt, ["run", "--bundle", bundle, `probe${counter++}`]);
    return undefined;
  } catch (err) {
    return (err as Error).message.split("\n")[0];
  }
}

function verdict(what: string, r: number, target: number, against: string): string {
  return `${what}: ${r.toFixed(2)}x ${against} (target <= ${target.toFixed(2)}x: ${
    r <= target ? "met" : "NOT met"
  })`;
}

function ratioLine(timings: Timing[], ours: string, peer: string, target: number, what: string) {
  const a = timings.find((t) => t.name === ours);
  const b = timings.find((t) => t.name === peer);
  if (!a || !b) return undefined;
  return verdict(what, a.median / b.median, target, "runc");
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

/**
 * Each command on its own, interleaved with an empty Deno script: create, start and delete
 * from lifecycles, state of a running container, kill of one. Also the CPU of the CLI
 * processes per lifecycle (their cutime + cstime once waited for).
 */
async function perCommand(
  ctx: BenchContext,
  runtimes: Runtime[],
  bundle: string,
  sleeper: string,
  running: Record<string, string>,
): Promise<string[]> {
  const rounds = Math.max(5, Math.round(ctx.rounds / 2));
  const empty = `${ctx.dir}/empty.ts`;
  Deno.writeTextFileSync(empty, "");
  const names = ["create", "start", "state", "kill", "delete"];
  const t = new Map(runtimes.map((rt) => [rt.name, Object.fromEntries(names.map((n) => [n, []]))]));
  const cpu = new Map(runtimes.map((rt) => [rt.name, [] as number[]]));
  const emptyMs: number[] = [];
  for (let r = -2; r < rounds; r++) {
    const keep = r >= 0;
    const t0 = performance.now();
    await new Deno.Command(Deno.execPath(), { args: ["run", ...ctx.flags, empty] }).output();
    if (keep) emptyMs.push(performance.now() - t0);
    for (const rt of runtimes) {
      const split = t.get(rt.name)! as Record<string, number[]>;
      const before = childrenCpuMs();
      await lifecycle(rt, bundle, ctx.dir, keep ? split : undefined);
      if (keep) cpu.get(rt.name)!.push(childrenCpuMs() - before);
      let s = performance.now();
      await exec(rt, ["state", running[rt.name]!]);
      if (keep) split.state!.push(performance.now() - s);
      const id = `k${counter++}`;
      await exec(rt, ["run", "-d", "--bundle", sleeper, id]);
      s = performance.now();
      await exec(rt, ["kill", id, "KILL"]);
      if (keep) split.kill!.push(performance.now() - s);
      await exec(rt, ["delete", "--force", id]);
    }
  }
  const e = median(emptyMs);
  const rows = runtimes.map((rt) => {
    const split = t.get(rt.name)! as Record<string, number[]>;
    return `| ${rt.name} | ${names.map((n) => median(split[n]!).toFixed(1)).join(" | ")} | ${
      median(cpu.get(rt.name)!).toFixed(0)
    } |`;
  });
  const denki = t.get("denki") as Record<string, number[]> | undefined;
  const lines = [
    `### Each command (${rounds} interleaved rounds, median ms; empty Deno script with denki's flags: ${
      e.toFixed(1)
    } ms)`,
    "",
    `| runtime | ${names.join(" | ")} | CPU ms per lifecycle |`,
    `|---|${names.map(() => "---|").join("")}---|`,
    ...rows,
    "",
  ];
  if (denki) {
    lines.push(verdict("create", median(denki.create!) / e, 2.0, "an empty Deno script"));
    for (const n of ["start", "state", "kill", "delete"]) {
      lines.push(verdict(n, median(denki[n]!) / e, 1.3, "an empty Deno script"));
    }
    const ours = median(cpu.get("denki")!);
    const theirs = cpu.has("runc") ? median(cpu.get("runc")!) : undefined;
    if (theirs) lines.push(verdict("CPU per lifecycle", ours / theirs, 2.5, "runc"));
  }
  return lines;
}

/** Times the lifecycle; returns the markdown section. */
export async function lifecycleSection(ctx: BenchContext): Promise<string> {
  if (!ctx.bundle) return "## Container lifecycle\n\n(skipped: needs root and busybox-static)";
  const bundle = ctx.bundle("true");
  const sleeper = ctx.bundle("sleep", "600");
  const denki: Runtime = {
    name: "denki",
    cmd: [Deno.execPath(), "run", ...ctx.flags, ctx.entry],
    env: ctx.env,
    root: `${ctx.dir}/l-denki`,
  };
  const launcher: Runtime = {
    name: "denki (bin/denki)",
    cmd: [ctx.launcher],
    env: ctx.env,
    root: `${ctx.dir}/l-launcher`,
  };
  const runtimes: Runtime[] = [denki, launcher];
  const notes: string[] = [];
  if (ctx.runc) runtimes.push({ name: "runc", cmd: ["runc"], root: `${ctx.dir}/l-runc` });
  if (ctx.crun) {
    const crun = { name: "crun", cmd: ["crun"], root: `${ctx.dir}/l-crun` };
    const why = await works(crun, bundle);
    if (why === undefined) runtimes.push(crun);
    else notes.push(`crun left out: it fails here: ${why}`);
  } else {
    notes.push("crun left out: not installed");
  }
  const rounds = Math.max(5, Math.round(ctx.rounds / 2));
  let timings: Timing[];
  let split: string[];
  try {
    // A running container per runtime, for `exec` and `state`.
    const running: Record<string, string> = {};
    for (const rt of runtimes) {
      running[rt.name] = `s${counter++}`;
      await exec(rt, ["run", "-d", "--bundle", sleeper, running[rt.name]!]);
    }
    const all = runtimes.flatMap((rt) => cases(rt, bundle, ctx.dir, running[rt.name]!));
    timings = await measure(all, rounds, 2);
    split = await perCommand(
      ctx,
      runtimes.filter((rt) => rt !== launcher),
      bundle,
      sleeper,
      running,
    );
  } finally {
    // A failed round must not leave containers (or runc's cgroups) behind.
    for (const rt of runtimes) await removeAll(rt);
  }
  const lines = [
    `## Container lifecycle (busybox bundle running \`true\`; ${rounds} interleaved rounds)`,
    "",
    report(timings, "runc: create; start; wait; delete"),
    "",
    ratioLine(
      timings,
      "denki: create; start; wait; delete",
      "runc: create; start; wait; delete",
      2.0,
      "lifecycle",
    ),
    ratioLine(timings, "denki: run", "runc: run", 2.0, "run"),
    ratioLine(timings, "denki: exec true", "runc: exec true", 2.0, "exec true"),
    ...notes,
    "note: every runtime here makes a cgroup per container (denki and runc on all nine hierarchies).",
    "",
    ...split,
  ];
  return lines.filter((l) => l !== undefined).join("\n");
}
