/**
 * Memory: the peak RSS of the `create` command itself, and the RSS of a created (not yet
 * started) container's waiting process, denki next to runc. The peak comes from GNU time's
 * %M (the command's own maximum resident set); the waiting process's from /proc/PID/status.
 */
import type { BenchContext } from "./context.ts";

interface Sample {
  createPeakKiB: number;
  waitingKiB: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One create under time(1), the waiting process's RSS, then delete. */
async function sample(
  cmd: string[],
  env: Record<string, string> | undefined,
  root: string,
  bundle: string,
  id: string,
): Promise<Sample> {
  const dir = Deno.makeTempDirSync({ prefix: "denki-mem-" });
  try {
    const pidFile = `${dir}/pid`;
    const out = await new Deno.Command("/usr/bin/time", {
      args: [
        "-f",
        "%M",
        "-o",
        `${dir}/peak`,
        ...cmd,
        "--root",
        root,
        "create",
        "--bundle",
        bundle,
        "--pid-file",
        pidFile,
        id,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      ...(env ? { env } : {}),
    }).output();
    if (!out.success) throw new Error(`${cmd[0]} create failed (exit ${out.code})`);
    const pid = Number(Deno.readTextFileSync(pidFile));
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const waiting = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
    return {
      createPeakKiB: Number(Deno.readTextFileSync(`${dir}/peak`).trim()),
      waitingKiB: waiting,
    };
  } finally {
    await new Deno.Command(cmd[0]!, {
      args: [...cmd.slice(1), "--root", root, "delete", "--force", id],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      ...(env ? { env } : {}),
    }).output();
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The RSS (KiB) of an empty Deno script with denki's flags, idle in a timer. */
async function idleDeno(ctx: BenchContext): Promise<number> {
  const script = `${ctx.dir}/idle.ts`;
  Deno.writeTextFileSync(script, "setTimeout(() => {}, 600_000);\n");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...ctx.flags, script],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, 500));
    const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

/** Measures memory; returns the markdown section. */
export async function memorySection(ctx: BenchContext): Promise<string> {
  if (!ctx.bundle || !ctx.runc) {
    return "## Memory\n\n(skipped: needs root, busybox-static and runc)";
  }
  const bundle = ctx.bundle("true");
  const peers: [string, string[], Record<string, string> | undefined][] = [
    ["denki", [ctx.launcher], ctx.env],
    ["runc", ["runc"], undefined],
  ];
  const rounds = 5;
  const results = new Map<string, Sample[]>();
  for (let i = 0; i < rounds; i++) {
    for (const [name, cmd, env] of peers) {
      const s = await sample(cmd, env, `${ctx.dir}/m-${name}`, bundle, `m${i}`);
      results.set(name, [...(results.get(name) ?? []), s]);
    }
  }
  const idle = median(await Promise.all([0, 1, 2].map(() => idleDeno(ctx))));
  const waiting = median(results.get("denki")!.map((s) => s.waitingKiB));
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  const ratio = waiting / idle;
  const row = (what: string, pick: (s: Sample) => number) => {
    const values = peers.map(([name]) => median(results.get(name)!.map(pick)));
    const best = Math.min(...values.slice(1));
    return `| ${what} | ${mib(values[0]!)} | ${mib(values[1]!)} | ${
      (values[0]! / best).toFixed(2)
    }x |`;
  };
  return [
    `## Memory (busybox bundle; median of ${rounds})`,
    "",
    "| RSS, MiB | denki | runc | denki / runc |",
    "|---|---|---|---|",
    row("peak of the `create` command", (s) => s.createPeakKiB),
    row("created container, waiting for `start`", (s) => s.waitingKiB),
    "",
    `An idle empty Deno process (denki's flags): ${mib(idle)} MiB. Waiting init / idle Deno: ${
      ratio.toFixed(2)
    }x (target <= 1.10x: ${ratio <= 1.1 ? "met" : "NOT met"}).`,
  ].join("\n");
}
