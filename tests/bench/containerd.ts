/**
 * `ctr run --rm` through containerd 1.6, one interleaved run: busybox `true` with containerd's
 * runc shim and runc (the reference), with the runc shim running denki (directly and through
 * the harness's sh wrapper, with runc behind a wrapper of the same shape for comparison), with
 * denki's own shim (`--runtime io.containerd.denki.v2`), and the Wasm hello image through
 * denki's shim. This is what a node pays per container: ctr, containerd, the shim, and the
 * runtime. Then the memory a pod's shim holds: denki's shim daemon against
 * containerd-shim-runc-v2, each with one running container.
 *
 * Standalone: `deno run -A tests/bench/containerd.ts [ROUNDS]` (default 10 rounds).
 */
import { bundle } from "../../bin/bundle.ts";
import type { BenchContext } from "./context.ts";
import { type Case, measure, report } from "./measure.ts";
import {
  BUSYBOX_IMAGE,
  Containerd,
  CONTAINERD_REQS,
  DENKI_RUNTIME,
  SHIM_LAUNCHER,
  shimPids,
  WASM_IMAGE,
} from "../support/containerd.ts";
import { exists } from "../support/fs.ts";

const MiB = 1024 * 1024;

/** A /proc/<pid>/status or smaps_rollup field in bytes (they are in kB). */
function kbField(file: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(Deno.readTextFileSync(file));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Resident and proportional set size of one process. */
function memoryOf(pid: number): { rss: number; pss: number } {
  return {
    rss: kbField(`/proc/${pid}/status`, "VmRSS"),
    pss: kbField(`/proc/${pid}/smaps_rollup`, "Pss"),
  };
}

/** Children of `pid` (from every task's children list). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`).trim();
    if (text !== "") out.push(...text.split(" ").map(Number));
  }
  return out;
}

/**
 * Starts `sleep` detached under `runtime`, waits a moment for the shim to settle, and
 * measures its daemon, and any other process it owns that is not the container's (a warm
 * init, a logging binary), as the per-pod cost.
 */
async function shimMemory(c: Containerd, runtime: string, id: string) {
  const before = new Set(shimPids(c.ns, true));
  const r = await c.ctr([
    "run",
    "-d",
    "--runtime",
    runtime,
    "--fifo-dir",
    c.fifoDir,
    "--snapshotter",
    c.snapshotter,
    ...(runtime === DENKI_RUNTIME ? [] : ["--runc-binary", "/usr/sbin/runc"]),
    BUSYBOX_IMAGE,
    id,
    "sleep",
    "1000",
  ]);
  if (r.code !== 0) throw new Error(`ctr run -d ${id}: ${r.stderr}`);
  await new Promise((res) => setTimeout(res, 1000));
  const daemon = shimPids(c.ns, true).find((p) => !before.has(p));
  if (daemon === undefined) throw new Error(`no shim daemon for ${id}`);
  const procs = `/sys/fs/cgroup/pids/${c.ns}/${id}/cgroup.procs`;
  const container = new Set(
    exists(procs) ? Deno.readTextFileSync(procs).trim().split("\n").map(Number) : [],
  );
  const main = memoryOf(daemon);
  let helpers = { rss: 0, pss: 0, n: 0 };
  const walk = (pid: number) => {
    for (const child of childrenOf(pid)) {
      if (container.has(child)) continue;
      const m = memoryOf(child);
      helpers = { rss: helpers.rss + m.rss, pss: helpers.pss + m.pss, n: helpers.n + 1 };
      walk(child);
    }
  };
  walk(daemon);
  return { main, helpers };
}

async function removeDetached(c: Containerd, id: string): Promise<void> {
  await c.ctr(["task", "kill", "-s", "SIGKILL", id]);
  for (let i = 0; i < 100; i++) {
    if ((await c.ctr(["task", "delete", id])).code === 0) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  await c.ctr(["container", "delete", id]);
}

const mib = (b: number) => (b / MiB).toFixed(1);

/** The section: markdown tables, or why it could not run here. */
export async function containerdSection(ctx: Pick<BenchContext, "rounds">): Promise<string> {
  const title = "## containerd: `ctr run --rm` (busybox `true`, the Wasm hello image)\n\n";
  const missing = CONTAINERD_REQS.filter((r) => r !== undefined);
  if (missing.length > 0) return `${title}skipped: ${missing.join(", ")}`;
  const withShim = exists(SHIM_LAUNCHER);
  const c = new Containerd();
  try {
    await c.start("denki");
    await c.importImages();
    // runc behind a wrapper like denki's: sh, one printf to a log, exec.
    const runcWrapper = `${c.dir}/bin/runc-wrapped`;
    Deno.writeTextFileSync(
      runcWrapper,
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${c.dir}/runc-calls.log'\nexec /usr/sbin/runc "$@"\n`,
    );
    Deno.chmodSync(runcWrapper, 0o755);
    let n = 0;
    const ctrRun = (name: string, how: string[], image = BUSYBOX_IMAGE, args = ["true"]): Case => ({
      name,
      fn: async () => {
        const r = await c.ctr([
          "run",
          "--rm",
          "--fifo-dir",
          c.fifoDir,
          "--snapshotter",
          c.snapshotter,
          ...how,
          image,
          `b${n++}`,
          ...args,
        ]);
        if (r.code !== 0) throw new Error(`${name}: exit ${r.code}: ${r.stderr}`);
      },
    });
    const viaRuncShim = (binary: string) => ["--runc-binary", binary, "--runc-root", c.runcRoot];
    const denkiShim = ["--runtime", DENKI_RUNTIME];
    const timings = await measure(
      [
        ctrRun("runc", viaRuncShim("/usr/sbin/runc")),
        ctrRun("runc (sh wrapper)", viaRuncShim(runcWrapper)),
        ctrRun("denki behind the runc shim (sh wrapper)", viaRuncShim(c.denki)),
        ...(withShim
          ? [
            ctrRun("denki shim", denkiShim),
            ctrRun("denki shim, Wasm hello image (guest in the shim)", denkiShim, WASM_IMAGE, []),
            ctrRun(
              "denki shim, Wasm hello image (init route)",
              [...denkiShim, "--annotation", "run.denki.shim.route=init"],
              WASM_IMAGE,
              [],
            ),
          ]
          : []),
      ],
      ctx.rounds,
      2,
    );
    let out = title + report(timings, "runc");
    if (!withShim) return `${out}\n\n(denki's shim is not in this checkout)`;
    out += "\n\nTargets: denki shim <= 1.0x runc; the Wasm image through denki's shim <= 0.6x.\n";

    const denki = await shimMemory(c, DENKI_RUNTIME, "rss-denki");
    const runc = await shimMemory(c, "io.containerd.runc.v2", "rss-runc");
    await removeDetached(c, "rss-denki");
    await removeDetached(c, "rss-runc");
    const row = (name: string, m: typeof denki) => {
      const rss = m.main.rss + m.helpers.rss;
      const pss = m.main.pss + m.helpers.pss;
      return `| ${name} | ${mib(m.main.rss)} | ${m.helpers.n} / ${mib(m.helpers.rss)} | ${
        mib(pss)
      } | ${(rss * 100 / 1024 / MiB).toFixed(2)} GiB | ${
        (pss * 100 / 1024 / MiB).toFixed(2)
      } GiB |`;
    };
    out += [
      "",
      "### Shim memory per pod (one running `sleep` container)",
      "",
      "| shim | daemon RSS MiB | other shim processes / RSS MiB | PSS MiB | 100 pods (RSS) | 100 pods (PSS) |",
      "|---|---|---|---|---|---|",
      row("denki shim", denki),
      row("containerd-shim-runc-v2", runc),
      "",
      "RSS counts pages shared with other processes (the Deno or Go binary's text) in full; PSS " +
      "splits them, so 100 pods cost between the two columns.",
    ].join("\n");
    return out;
  } finally {
    const left = (await c.stop()).filter((l) => !l.startsWith("cgroup "));
    // runc leaves the /<namespace> parent cgroups (containerd never removes them); the
    // harness does. Anything else is a leak worth knowing about.
    if (left.length > 0) console.error(`containerd bench left: ${left.join(", ")}`);
  }
}

if (import.meta.main) {
  // As `deno task bench` does: bin/denki then runs the bundle, what callers run.
  await bundle();
  console.log(await containerdSection({ rounds: Number(Deno.args[0] ?? 10) }));
}
