/**
 * Command start-up: denki (Deno on the bundled entry, as the compiled binary runs; and through
 * the checkout's bin/denki launcher) against an empty Deno script with the same flags and
 * against runc. Target: `denki state ID` within 1.3x of the script.
 */
import { type BenchContext, runOrThrow } from "./context.ts";
import { type Case, measure, report } from "./measure.ts";

function startTime(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

/** Times command start-up; returns the markdown section. */
export async function startupSection(ctx: BenchContext): Promise<string> {
  // A live process stands in for a container init, so `state` takes the liveness path.
  const sleeper = new Deno.Command("sleep", { args: ["600"] }).spawn();
  const runcRoot = `${ctx.dir}/runc-state-root`;
  let runcCases: Case[] = [];
  let cleanup = () => {};
  try {
    Deno.writeTextFileSync(`${ctx.dir}/empty.ts`, "");
    const root = `${ctx.dir}/denki-state-root`;
    Deno.mkdirSync(`${root}/bench`, { recursive: true });
    Deno.writeTextFileSync(
      `${root}/bench/state.json`,
      JSON.stringify({
        ociVersion: "1.3.0",
        id: "bench",
        pid: sleeper.pid,
        pidStartTime: startTime(sleeper.pid),
        status: "running",
        bundle: ctx.dir,
        rootfs: `${ctx.dir}/rootfs`,
        created: new Date().toISOString(),
        owner: "root",
        annotations: {},
      }),
    );
    if (ctx.runc && ctx.bundle) {
      const log = `${ctx.dir}/runc.log`;
      // All stdio null: the container keeps what it inherits open, a pipe would never close.
      const created = new Deno.Command("runc", {
        args: [
          "--root",
          runcRoot,
          "--log",
          log,
          "create",
          "--bundle",
          ctx.bundle("sleep", "600"),
          "st",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (!created.success) throw new Error(`runc create: ${Deno.readTextFileSync(log)}`);
      cleanup = () => runOrThrow("runc", ["--root", runcRoot, "delete", "--force", "st"]);
      runcCases = [
        { name: "runc state ID", cmd: ["runc", "--root", runcRoot, "state", "st"] },
        { name: "runc list", cmd: ["runc", "--root", runcRoot, "list"] },
      ];
    }
    const cases: Case[] = [
      {
        name: "deno run empty.ts (same flags)",
        cmd: [Deno.execPath(), "run", ...ctx.flags, `${ctx.dir}/empty.ts`],
      },
      {
        name: "denki state ID",
        cmd: [Deno.execPath(), "run", ...ctx.flags, ctx.entry, "--root", root, "state", "bench"],
        env: ctx.env,
      },
      {
        name: "denki state ID (bin/denki)",
        cmd: [ctx.launcher, "--root", root, "state", "bench"],
        env: ctx.env,
      },
      {
        name: "denki state ID (from source)",
        cmd: [ctx.launcher, "--root", root, "state", "bench"],
        env: { ...ctx.env, DENKI_FROM_SOURCE: "1" },
      },
      { name: "denki list", cmd: [ctx.launcher, "--root", root, "list"], env: ctx.env },
      { name: "denki --version", cmd: [ctx.launcher, "--version"], env: ctx.env },
      ...runcCases,
    ];
    const timings = await measure(cases, ctx.rounds);
    const ratio = timings[1]!.median / timings[0]!.median;
    return [
      `## Command start-up (${ctx.rounds} interleaved rounds, wall time per command)`,
      "",
      report(timings, timings[0]!.name),
      "",
      `denki state ID / empty Deno script: ${ratio.toFixed(2)}x (target <= 1.30x: ${
        ratio <= 1.3 ? "met" : "NOT met"
      })`,
    ].join("\n");
  } finally {
    cleanup();
    sleeper.kill("SIGKILL");
    await sleeper.status;
  }
}
