/**
 * `deno task bench`: command start-up of denki (through bin/denki, as callers run it) against
 * an empty Deno script with the same flags and against runc, measured interleaved.
 * Target: `denki state ID` within 1.3x of the empty script.
 */
import { type Case, measure, report } from "./measure.ts";
import { ensurePrograms, hasProgram } from "../support/packages.ts";
import { bundle } from "../../bin/bundle.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 40);
const repo = new URL("../..", import.meta.url).pathname;
const launcher = `${repo}bin/denki`;
const flags = Deno.readTextFileSync(`${repo}bin/deno-flags`).trim().split(/\s+/);
const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", DENKI_DENO: Deno.execPath() };

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): void {
  const out = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped", ...opts })
    .outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

function startTime(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

/** A runc container to `state`, when runc, busybox and root are available. */
function runcContainer(dir: string): { cases: Case[]; cleanup: () => void; note: string } {
  const root = `${dir}/runc-root`;
  const id = "bench-runc";
  if (!hasProgram("runc")) return { cases: [], cleanup: () => {}, note: "runc is not installed" };
  if (Deno.uid() !== 0 || !hasProgram("busybox")) {
    return {
      cases: [{
        name: "runc state (missing id)",
        cmd: ["runc", "--root", root, "state", "x"],
        code: 1,
      }],
      cleanup: () => {},
      note: "no root or busybox: runc measured on a missing container",
    };
  }
  const bundle = `${dir}/bundle`;
  Deno.mkdirSync(bundle);
  run(`${repo}bundles/busybox/build-rootfs.sh`, [`${bundle}/rootfs`]);
  const config = JSON.parse(Deno.readTextFileSync(`${repo}bundles/busybox/config.json`));
  config.process.args = ["sleep", "600"];
  Deno.writeTextFileSync(`${bundle}/config.json`, JSON.stringify(config));
  // All stdio null: the container keeps whatever it inherits open, so a pipe would never close.
  const log = `${dir}/runc.log`;
  const created = new Deno.Command("runc", {
    args: ["--root", root, "--log", log, "create", "--bundle", bundle, id],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).outputSync();
  if (!created.success) throw new Error(`runc create: ${Deno.readTextFileSync(log)}`);
  return {
    cases: [
      { name: "runc state ID", cmd: ["runc", "--root", root, "state", id] },
      { name: "runc list", cmd: ["runc", "--root", root, "list"] },
    ],
    cleanup: () => run("runc", ["--root", root, "delete", "--force", id]),
    note: "runc measured on a created busybox container",
  };
}

async function main(): Promise<void> {
  ensurePrograms([{ program: "runc", pkg: "runc" }, { program: "busybox", pkg: "busybox-static" }]);
  await bundle();
  const dir = Deno.makeTempDirSync({ prefix: "denki-bench-" });
  // A live process stands in for a container init, so `state` takes the liveness path.
  const sleeper = new Deno.Command("sleep", { args: ["600"] }).spawn();
  let runc = { cases: [] as Case[], cleanup: () => {}, note: "" };
  try {
    Deno.writeTextFileSync(`${dir}/empty.ts`, "");
    const root = `${dir}/denki-root`;
    Deno.mkdirSync(`${root}/bench`, { recursive: true });
    Deno.writeTextFileSync(
      `${root}/bench/state.json`,
      JSON.stringify({
        ociVersion: "1.3.0",
        id: "bench",
        pid: sleeper.pid,
        pidStartTime: startTime(sleeper.pid),
        status: "running",
        bundle: dir,
        rootfs: `${dir}/rootfs`,
        created: new Date().toISOString(),
        owner: "root",
        annotations: {},
      }),
    );
    runc = runcContainer(dir);
    const cases: Case[] = [
      {
        name: "deno run empty.ts (same flags)",
        cmd: [Deno.execPath(), "run", ...flags, `${dir}/empty.ts`],
      },
      { name: "denki state ID", cmd: [launcher, "--root", root, "state", "bench"], env },
      {
        name: "denki state ID (from source)",
        cmd: [launcher, "--root", root, "state", "bench"],
        env: { ...env, DENKI_FROM_SOURCE: "1" },
      },
      { name: "denki list", cmd: [launcher, "--root", root, "list"], env },
      { name: "denki --version", cmd: [launcher, "--version"], env },
      ...runc.cases,
    ];
    const timings = await measure(cases, ROUNDS);
    const empty = timings[0]!;
    const state = timings[1]!;
    const ratio = state.median / empty.median;
    console.log(`## Command start-up (${ROUNDS} interleaved rounds, wall time per command)\n`);
    console.log(report(timings, empty.name));
    console.log(
      `\ndenki state ID / empty Deno script: ${ratio.toFixed(2)}x (target <= 1.30x: ${
        ratio <= 1.3 ? "met" : "NOT met"
      })`,
    );
    if (runc.note) console.log(`note: ${runc.note}`);
    console.log(
      `deno ${Deno.version.deno}, ${Deno.build.arch}, ${navigator.hardwareConcurrency} cpus`,
    );
  } finally {
    runc.cleanup();
    sleeper.kill("SIGKILL");
    await sleeper.status;
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
