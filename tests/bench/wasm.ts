/**
 * The Wasm executor against Node's `node:wasi` and Deno's `node:wasi`, one interleaved run per
 * workload: hello start-up (the bare hosts, and whole containers through the CLI), SHA-256
 * over 256 MiB (and the same C compiled natively), 200 MiB to stdout in 64 KiB writes (to
 * /dev/null and to a pipe), and 200 MiB written then read back in the preopened directory.
 * Targets: CPU-bound within 1.15x of native; I/O at least as fast as Node's node:wasi.
 */
import { denoBundle } from "../../bin/bundle.ts";
import { clang } from "../wasi/build.ts";
import type { BenchContext } from "./context.ts";
import { type Case, measure, report, type Timing } from "./measure.ts";

const HERE = new URL("./wasm/", import.meta.url).pathname;
const REPO = new URL("../../", import.meta.url).pathname;

function mustRun(cmd: string, args: string[]): void {
  const out = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** The guests (wasm32-wasi) and the native SHA-256, built into `dir`. */
function buildGuests(dir: string, cc: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["sha256", "stdout", "fileio"]) {
    out[name] = `${dir}/${name}.wasm`;
    mustRun(cc, ["--target=wasm32-wasi", "-O2", "-o", out[name]!, `${HERE}${name}.c`]);
  }
  out.native = `${dir}/sha256-native`;
  mustRun(cc, ["-O2", "-o", out.native, `${HERE}sha256.c`]);
  return out;
}

/**
 * The cases that complete, each tried once; the others are reported (a host that loses data
 * or fails cannot be timed). Returns the runnable cases and a note per failure.
 */
async function working(cases: Case[]): Promise<{ ok: Case[]; notes: string[] }> {
  const ok: Case[] = [];
  const notes: string[] = [];
  for (const c of cases) {
    try {
      await measure([c], 1, 0);
      ok.push(c);
    } catch (err) {
      const why = (err as Error).message.split("\n").find((l) =>
        l.trim() !== "" && !/ExperimentalWarning|trace-warnings/.test(l)
      );
      notes.push(`${c.name} FAILS: ${why}`);
    }
  }
  return { ok, notes };
}

function ratio(timings: Timing[], name: string, to: string): number {
  const a = timings.find((t) => t.name === name)!;
  const b = timings.find((t) => t.name === to)!;
  return a.median / b.median;
}

function verdict(value: number, target: number): string {
  return `${value.toFixed(2)}x (target <= ${target.toFixed(2)}x: ${
    value <= target ? "met" : "NOT met"
  })`;
}

/** Times the Wasm workloads; returns the markdown section. */
export async function wasmSection(ctx: BenchContext): Promise<string> {
  const cc = clang();
  if (cc === undefined) return "## Wasm\n\n(skipped: clang is not installed)";
  const dir = `${ctx.dir}/wasm`;
  const root = `${dir}/root`;
  Deno.mkdirSync(root, { recursive: true });
  const g = buildGuests(dir, cc);
  // The bare denki host as one bundled script, as the CLI runs its code.
  const hostJs = `${dir}/host_denki.js`;
  if (!await denoBundle(["-o", hostJs, `${HERE}host_denki.ts`])) {
    throw new Error("cannot bundle the bare denki host");
  }
  const deno = Deno.execPath();
  const worker = { DENKI_WASM_WORKER: `${REPO}bin/.bundle/wasm-worker.js` };
  const hosts = (module: string, ...args: string[]): Case[] => [
    { name: "node: node:wasi", cmd: ["node", `${HERE}host_node_wasi.mjs`, module, root, ...args] },
    {
      name: "deno: node:wasi",
      cmd: [deno, "run", "-A", `${HERE}host_node_wasi.mjs`, module, root, ...args],
    },
    { name: "denki host", cmd: [deno, "run", "-A", hostJs, module, root, ...args] },
  ];
  const heavy = Number(Deno.env.get("BENCH_HEAVY_ROUNDS") ?? 5);
  const out: string[] = [
    "## Wasm executor",
    "",
    "Bare hosts run a module with the directory preopened as /; `denki host` is denki's WASI",
    "host in the calling thread (as in a rootful container), `(worker)` in its sandbox Worker.",
  ];

  // Start-up: the hello-wasm sample.
  const hello = `${REPO}bundles/hello-wasm/rootfs/hello.wasm`;
  const startup: Case[] = [
    ...hosts(hello),
    {
      name: "denki host (worker)",
      cmd: [deno, "run", "-A", "--unstable-worker-options", hostJs, "--worker", hello, root],
      env: worker,
    },
    {
      name: "denki run hello-wasm (sandbox)",
      cmd: [
        ctx.launcher,
        "--root",
        `${dir}/state`,
        "run",
        "--bundle",
        `${REPO}bundles/hello-wasm`,
        "hello",
      ],
      env: ctx.env,
    },
  ];
  if (ctx.bundle) {
    // A rootful container: namespaces, mounts and the root switch, then the module.
    const b = ctx.bundle("/hello.wasm");
    const config = JSON.parse(Deno.readTextFileSync(`${b}/config.json`));
    Deno.copyFileSync(hello, `${config.root.path}/hello.wasm`);
    startup.push({
      name: "denki run (rootful container)",
      cmd: [ctx.launcher, "--root", `${dir}/state`, "run", "--bundle", b, "hello2"],
      env: ctx.env,
    });
  }
  const st = await measure(startup, ctx.rounds);
  out.push(
    "",
    `### Start-up: hello-wasm (${ctx.rounds} rounds)`,
    "",
    report(st, "node: node:wasi"),
  );

  const sha = await measure(
    [
      { name: "native (clang -O2)", cmd: [g.native!] },
      ...hosts(g.sha256!),
    ],
    heavy,
    1,
  );
  out.push(
    "",
    `### CPU: SHA-256 over 256 MiB (${heavy} rounds)`,
    "",
    report(sha, "native (clang -O2)"),
    "",
    `denki host / native: ${verdict(ratio(sha, "denki host", "native (clang -O2)"), 1.15)}`,
  );

  for (const sink of ["null", "pipe"] as const) {
    const { ok, notes } = await working(hosts(g.stdout!).map((c) => ({ ...c, stdout: sink })));
    const t = await measure(ok, heavy, 1);
    out.push(
      "",
      `### 200 MiB to stdout in 64 KiB writes, to ${
        sink === "null" ? "/dev/null" : "a pipe"
      } (${heavy} rounds)`,
      "",
      report(t, "node: node:wasi"),
      "",
      ...notes.map((n) => `${n}\n`),
      t.some((x) => x.name === "node: node:wasi")
        ? `denki host / node: ${verdict(ratio(t, "denki host", "node: node:wasi"), 1)}`
        : "denki host / node: node's node:wasi cannot complete this workload",
    );
  }

  const io = await measure(hosts(g.fileio!), heavy, 1);
  Deno.removeSync(root, { recursive: true });
  out.push(
    "",
    `### 200 MiB written then read back in the preopened directory (${heavy} rounds)`,
    "",
    report(io, "node: node:wasi"),
    "",
    `denki host / node: ${verdict(ratio(io, "denki host", "node: node:wasi"), 1)}`,
  );
  return out.join("\n");
}
