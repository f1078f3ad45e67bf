/**
 * The container lifecycle with a user namespace, against runc with the same config (issue 16:
 * a user namespace should add no more to denki's lifecycle than it adds to runc's). Four
 * interleaved cases of `create; start; wait; delete` of busybox `true`: runc and denki, each
 * without and with a new user namespace mapping 0..65535 to 100000.. (uid and gid). The
 * user-namespaced bundle's rootfs is a copy owned by the mapped root, as such an image must be
 * (the namespace's root is "other" to files of unmapped owners), and its parent directories
 * are searchable by others. Before timing, each runtime runs the config once and the workload
 * prints its uid map, so a runtime that ignored the user namespace cannot pass for fast.
 */
import type { BenchContext } from "./context.ts";
import { lifecycle, removeAll, type Runtime } from "./lifecycle.ts";
import { type Case, measure, type Timing } from "./measure.ts";

const HOST_ROOT = 100000;
const SIZE = 65536;
const MAP = [{ containerID: 0, hostID: HOST_ROOT, size: SIZE }];
const dec = new TextDecoder();

function run(cmd: string, args: string[]): string {
  const out = new Deno.Command(cmd, { args, stdin: "null" }).outputSync();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(out.stderr).trim()}`);
  return dec.decode(out.stdout);
}

/** A copy of `rootfs` owned by the mapped root, made once per benchmark run. */
function ownedCopy(rootfs: string, dir: string): string {
  const copy = `${dir}/rootfs-userns`;
  run("cp", ["-a", rootfs, copy]);
  run("chown", ["-R", `${HOST_ROOT}:${HOST_ROOT}`, copy]);
  return copy;
}

/** Rewrites `bundle`'s config with a new user namespace and the owned rootfs copy. */
function withUserns(bundle: string, rootfs: string): string {
  const file = `${bundle}/config.json`;
  const c = JSON.parse(Deno.readTextFileSync(file));
  c.linux.namespaces.push({ type: "user" });
  c.linux.uidMappings = MAP;
  c.linux.gidMappings = MAP;
  c.root.path = rootfs;
  Deno.writeTextFileSync(file, JSON.stringify(c));
  return bundle;
}

/**
 * Runs the probe bundle in the foreground and checks what its workload printed: its uid and
 * gid maps and its uid, then a marker. Throws when they are not the user namespace's.
 */
async function probe(rt: Runtime, bundle: string, id: string): Promise<void> {
  const [program, ...pre] = rt.cmd;
  const out = await new Deno.Command(program!, {
    args: [...pre, "--root", rt.root, "run", "--bundle", bundle, id],
    stdin: "null",
    ...(rt.env ? { env: rt.env } : {}),
  }).output();
  const said = dec.decode(out.stdout).trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "));
  const want = [`0 ${HOST_ROOT} ${SIZE}`, `0 ${HOST_ROOT} ${SIZE}`, "0", "userns-probe"];
  if (!out.success || JSON.stringify(said) !== JSON.stringify(want)) {
    throw new Error(
      `${rt.name} with a user namespace: exit ${out.code}, printed ${
        JSON.stringify(said).slice(0, 200)
      }, stderr ${dec.decode(out.stderr).trim().slice(0, 300)}`,
    );
  }
}

/**
 * A distribution-free 95% confidence interval for the median of `xs`: the order statistics
 * k and n+1-k, with k the largest for which two binomial(n, 1/2) tails hold at most 5%.
 */
function medianInterval(xs: number[]): [number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  let tail = 0; // P(B <= k-1), B ~ binomial(n, 1/2)
  let choose = 1; // C(n, k-1)
  let k = 0;
  for (let j = 0; j < n; j++) {
    tail += choose / 2 ** n;
    if (2 * tail > 0.05) break;
    k = j + 1;
    choose = choose * (n - j) / (j + 1);
  }
  // Too few rounds for 95%: the whole range.
  if (k === 0) return [s[0]!, s[n - 1]!];
  return [s[k - 1]!, s[n - k]!];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Times the lifecycle with and without a user namespace; returns the markdown section. */
export async function usernsSection(ctx: BenchContext): Promise<string> {
  const title = "## Lifecycle with a user namespace";
  if (!ctx.bundle || !ctx.runc) return `${title}\n\n(skipped: needs root, busybox-static and runc)`;
  const plain = ctx.bundle("true");
  const rootfs = JSON.parse(Deno.readTextFileSync(`${plain}/config.json`)).root.path as string;
  // The mapped root must pass through the bundle's parents (makeTempDir makes them 0700).
  Deno.chmodSync(ctx.dir, 0o755);
  const owned = ownedCopy(rootfs, ctx.dir);
  const userns = withUserns(ctx.bundle("true"), owned);
  const probeBundle = withUserns(
    ctx.bundle("sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; echo userns-probe"),
    owned,
  );
  const runc: Runtime = { name: "runc", cmd: ["runc"], root: `${ctx.dir}/u-runc` };
  const denki: Runtime = {
    name: "denki",
    cmd: [Deno.execPath(), "run", ...ctx.flags, ctx.entry],
    env: ctx.env,
    root: `${ctx.dir}/u-denki`,
  };
  const runtimes = [runc, denki];
  // At least 10: the interval of the per-round differences needs them.
  const rounds = Math.max(10, ctx.rounds);
  const warmup = 2;
  // Each lifecycle's wall time, by case, in round order (warm-up rounds first): for the
  // per-round differences, which cancel noise that hits a round's neighbours alike.
  const raw = new Map<string, number[]>();
  const name = (rt: Runtime, u: boolean) => `${rt.name}, ${u ? "user namespace" : "no user ns"}`;
  const cases: Case[] = runtimes.flatMap((rt) =>
    [false, true].map((u) => {
      const n = name(rt, u);
      raw.set(n, []);
      return {
        name: n,
        fn: async () => {
          const t = performance.now();
          await lifecycle(rt, u ? userns : plain, ctx.dir);
          raw.get(n)!.push(performance.now() - t);
        },
      };
    })
  );
  let timings: Timing[];
  try {
    for (const rt of runtimes) await probe(rt, probeBundle, `probe-${rt.name}`);
    timings = await measure(cases, rounds, warmup);
  } finally {
    for (const rt of runtimes) await removeAll(rt);
    // The owned copy belongs to 100000; main's cleanup removes it as root.
  }
  const t = (n: string) => timings.find((x) => x.name === n)!;
  const lines = [
    `${title} (busybox \`true\`: create; start; wait; delete; ${rounds} interleaved rounds)`,
    "",
    `user namespace: uid and gid 0..${SIZE - 1} -> ${HOST_ROOT}..; rootfs a copy owned by ` +
    `${HOST_ROOT}. Both runtimes ran the config first and the workload printed its map ` +
    `(\`0 ${HOST_ROOT} ${SIZE}\`) and uid 0.`,
    "",
    "| case | median ms | p10 ms | p90 ms |",
    "|---|---|---|---|",
    ...timings.map((x) =>
      `| ${x.name} | ${x.median.toFixed(1)} | ${x.p10.toFixed(1)} | ${x.p90.toFixed(1)} |`
    ),
    "",
    "| runtime | added by the user namespace (medians) | ratio with/without | " +
    "median of per-round differences |",
    "|---|---|---|---|",
  ];
  // Per round: what the user namespace added (the two cases of a round ran back to back).
  const perRound = (rt: Runtime) => {
    const a = raw.get(name(rt, false))!.slice(warmup);
    return raw.get(name(rt, true))!.slice(warmup).map((x, i) => x - a[i]!);
  };
  const added: Record<string, number> = {};
  for (const rt of runtimes) {
    const without = t(name(rt, false));
    const withNs = t(name(rt, true));
    added[rt.name] = withNs.median - without.median;
    const paired = median(perRound(rt));
    lines.push(
      `| ${rt.name} | ${added[rt.name]!.toFixed(1)} ms | ${
        (withNs.median / without.median).toFixed(2)
      }x | ${paired.toFixed(1)} ms |`,
    );
  }
  const ratio = (u: boolean) => t(name(denki, u)).median / t(name(runc, u)).median;
  // Per round: what the user namespace added to denki minus what it added to runc.
  const runcAdds = perRound(runc);
  const excess = perRound(denki).map((x, i) => x - runcAdds[i]!);
  const [lo, hi] = medianInterval(excess);
  const verdict = hi <= 0
    ? "met"
    : lo > 0
    ? "NOT met"
    : "met within noise (the interval holds 0: no difference measurable)";
  lines.push(
    "",
    `denki / runc with a user namespace: ${ratio(true).toFixed(2)}x ` +
      `(without: ${ratio(false).toFixed(2)}x)`,
    `the user namespace adds ${added.denki!.toFixed(1)} ms to denki's median and ` +
      `${added.runc!.toFixed(1)} ms to runc's`,
    `denki's addition minus runc's, per round: median ${median(excess).toFixed(1)} ms, ` +
      `95% interval [${lo.toFixed(1)}, ${hi.toFixed(1)}] ms ` +
      `(target: denki adds no more than runc: ${verdict})`,
  );
  return lines.join("\n");
}
