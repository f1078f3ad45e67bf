/**
 * Container lifecycle, side by side with runc (and crun where it runs): `create; start; wait
 * for exit; delete` and `run` of a busybox bundle whose process is `true`. Targets: lifecycle
 * within 1.5x of runc, `run` no slower than runc.
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

function cases(rt: Runtime, bundle: string, dir: string): Case[] {
  return [
    {
      name: `${rt.name}: create; start; wait; delete`,
      fn: async () => {
        const id = `l${counter++}`;
        const pidFile = `${dir}/${id}.pid`;
        await exec(rt, ["create", "--bundle", bundle, "--pid-file", pidFile, id]);
        const pid = Number(Deno.readTextFileSync(pidFile));
        await exec(rt, ["start", id]);
        await waitExit(pid);
        await exec(rt, ["delete", id]);
      },
    },
    {
      name: `${rt.name}: run`,
      fn: () => exec(rt, ["run", "--bundle", bundle, `r${counter++}`]),
    },
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

function ratioLine(timings: Timing[], ours: string, peer: string, target: number, what: string) {
  const a = timings.find((t) => t.name === ours);
  const b = timings.find((t) => t.name === peer);
  if (!a || !b) return undefined;
  const r = a.median / b.median;
  return `${what}: denki / runc = ${r.toFixed(2)}x (target <= ${target.toFixed(2)}x: ${
    r <= target ? "met" : "NOT met"
  })`;
}

/** Times the lifecycle; returns the markdown section. */
export async function lifecycleSection(ctx: BenchContext): Promise<string> {
  if (!ctx.bundle) return "## Container lifecycle\n\n(skipped: needs root and busybox-static)";
  const bundle = ctx.bundle("true");
  const runtimes: Runtime[] = [
    { name: "denki", cmd: [ctx.launcher], env: ctx.env, root: `${ctx.dir}/l-denki` },
  ];
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
  const all = runtimes.flatMap((rt) => cases(rt, bundle, ctx.dir));
  const rounds = Math.max(5, Math.round(ctx.rounds / 2));
  let timings: Timing[];
  try {
    timings = await measure(all, rounds, 2);
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
      1.5,
      "lifecycle",
    ),
    ratioLine(timings, "denki: run", "runc: run", 1.0, "run"),
    ...notes,
    "note: every runtime here makes a cgroup per container (denki and runc on all nine hierarchies).",
  ];
  return lines.filter((l) => l !== undefined).join("\n");
}
