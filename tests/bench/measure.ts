/**
 * A small interleaved command timer: every round runs each command once, in turn, so machine
 * noise (this VM shares its host) lands on all of them alike. Reports medians.
 */

/** One thing to time: a command, or a function that runs several. */
export interface Case {
  name: string;
  cmd?: string[];
  /** Timed instead of `cmd` (e.g. create; start; wait; delete). */
  fn?: () => Promise<void>;
  /** Run after each run of `fn`, untimed (e.g. removing the pod it started). */
  after?: () => Promise<void>;
  /** Expected exit status of `cmd` (default 0); a different one aborts the benchmark. */
  code?: number;
  env?: Record<string, string>;
  /** Where `cmd`'s stdout goes: /dev/null (default) or a pipe this process drains. */
  stdout?: "null" | "pipe";
}

/** Timing result of one case, in milliseconds. */
export interface Timing {
  name: string;
  median: number;
  p10: number;
  p90: number;
  runs: number;
}

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

async function once(c: Case): Promise<number> {
  if (c.fn) {
    const t = performance.now();
    await c.fn();
    const ms = performance.now() - t;
    await c.after?.();
    return ms;
  }
  const [program, ...args] = c.cmd!;
  const t0 = performance.now();
  const child = new Deno.Command(program!, {
    args,
    stdin: "null",
    stdout: c.stdout === "pipe" ? "piped" : "null",
    stderr: "piped",
    ...(c.env ? { env: c.env } : {}),
  }).spawn();
  const drained = c.stdout === "pipe"
    ? (async () => {
      for await (const _ of child.stdout) { /* read and dropped */ }
    })()
    : Promise.resolve();
  const stderr = new Response(child.stderr).text();
  const [status] = await Promise.all([child.status, drained]);
  const ms = performance.now() - t0;
  if (status.code !== (c.code ?? 0)) {
    throw new Error(`${c.name}: exit ${status.code}, expected ${c.code ?? 0}: ${await stderr}`);
  }
  await stderr;
  return ms;
}

/** Runs `warmup` untimed rounds, then `rounds` timed interleaved rounds. */
export async function measure(cases: Case[], rounds: number, warmup = 5): Promise<Timing[]> {
  for (let r = 0; r < warmup; r++) for (const c of cases) await once(c);
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cases.length; i++) samples[i]!.push(await once(cases[i]!));
  }
  return cases.map((c, i) => {
    const s = samples[i]!.sort((a, b) => a - b);
    return {
      name: c.name,
      median: quantile(s, 0.5),
      p10: quantile(s, 0.1),
      p90: quantile(s, 0.9),
      runs: s.length,
    };
  });
}

/** A markdown table of timings with each row's ratio to a reference row. */
export function report(timings: Timing[], reference: string): string {
  const ref = timings.find((t) => t.name === reference) ?? timings[0]!;
  const rows = timings.map((t) =>
    `| ${t.name} | ${t.median.toFixed(1)} | ${t.p10.toFixed(1)} | ${t.p90.toFixed(1)} | ${
      (t.median / ref.median).toFixed(2)
    }x |`
  );
  return [
    `| command | median ms | p10 ms | p90 ms | vs ${ref.name} |`,
    "|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
