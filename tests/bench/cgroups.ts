/**
 * Commands on a running container, side by side with runc: `pause; resume`, `ps --format
 * json`, `events --stats`, `exec true` and `update --pids-limit`. Each is one short CLI call
 * (two for pause; resume), so these mostly measure command start-up plus the cgroupfs work
 * (and for exec, the native stage that joins the container and becomes the process).
 */
import type { BenchContext } from "./context.ts";
import { exec, removeAll, type Runtime } from "./lifecycle.ts";
import { type Case, measure, type Timing } from "./measure.ts";

function cases(rt: Runtime, id: string): Case[] {
  const call = (...args: string[]) => exec(rt, [...args]);
  let limit = 100;
  return [
    {
      name: `${rt.name}: pause; resume`,
      fn: async () => (await call("pause", id), await call("resume", id)),
    },
    { name: `${rt.name}: ps --format json`, fn: () => call("ps", "--format", "json", id) },
    { name: `${rt.name}: events --stats`, fn: () => call("events", "--stats", id) },
    { name: `${rt.name}: exec true`, fn: () => call("exec", id, "true") },
    {
      name: `${rt.name}: update --pids-limit`,
      fn: () => call("update", "--pids-limit", String(limit++), id),
    },
  ];
}

/** Times commands on a running container; returns the markdown section. */
export async function cgroupSection(ctx: BenchContext): Promise<string> {
  if (!ctx.bundle || !ctx.runc) {
    return "## Commands on a running container\n\n(skipped: needs root, busybox-static and runc)";
  }
  const bundle = ctx.bundle("sleep", "1000");
  const runtimes: Runtime[] = [
    { name: "denki", cmd: [ctx.launcher], env: ctx.env, root: `${ctx.dir}/c-denki` },
    { name: "runc", cmd: ["runc"], root: `${ctx.dir}/c-runc` },
  ];
  const rounds = Math.max(5, Math.round(ctx.rounds / 2));
  let lines: string[];
  try {
    for (const rt of runtimes) await exec(rt, ["run", "-d", "--bundle", bundle, "cg"]);
    const timings = await measure(runtimes.flatMap((rt) => cases(rt, "cg")), rounds, 2);
    lines = [
      `## Commands on a running container (busybox; ${rounds} interleaved rounds)`,
      "",
      "| command | median ms | p10 ms | p90 ms | vs runc, same command |",
      "|---|---|---|---|---|",
    ];
    const row = (t: Timing, ref: Timing) =>
      `| ${t.name} | ${t.median.toFixed(1)} | ${t.p10.toFixed(1)} | ${t.p90.toFixed(1)} | ${
        (t.median / ref.median).toFixed(2)
      }x |`;
    const peerOf = (t: Timing) => timings.find((p) => p.name === t.name.replace(/^denki/, "runc"))!;
    for (const t of timings) lines.push(row(t, peerOf(t)));
  } finally {
    for (const rt of runtimes) await removeAll(rt);
  }
  return lines.join("\n");
}
