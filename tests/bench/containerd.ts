/**
 * `ctr run --rm` of a busybox image whose process is `true`, through containerd 1.6 and its
 * runc v2 shim, with runc and with denki as the shim's runtime. This is what a node pays per
 * container: ctr, containerd, the shim, and the runtime's create, start, state and delete.
 * denki is reached through the harness's sh wrapper (it sets DENKI_DENO for the shim), so
 * runc is timed both directly and through a wrapper of the same shape.
 *
 * Standalone: `deno run -A tests/bench/containerd.ts [ROUNDS]` (default 10 rounds).
 */
import { bundle } from "../../bin/bundle.ts";
import type { BenchContext } from "./context.ts";
import { type Case, measure, report } from "./measure.ts";
import { BUSYBOX_IMAGE, Containerd, CONTAINERD_REQS } from "../support/containerd.ts";

/** The section: a markdown table, or why it could not run here. */
export async function containerdSection(ctx: Pick<BenchContext, "rounds">): Promise<string> {
  const title = "## containerd: `ctr run --rm` (busybox `true`)\n\n";
  const missing = CONTAINERD_REQS.filter((r) => r !== undefined);
  if (missing.length > 0) return `${title}skipped: ${missing.join(", ")}`;
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
    const ctrRun = (name: string, binary: string): Case => ({
      name,
      fn: async () => {
        const r = await c.ctr([
          "run",
          "--rm",
          "--fifo-dir",
          c.fifoDir,
          "--snapshotter",
          c.snapshotter,
          "--runc-binary",
          binary,
          "--runc-root",
          c.runcRoot,
          BUSYBOX_IMAGE,
          `b${n++}`,
          "true",
        ]);
        if (r.code !== 0) throw new Error(`${name}: exit ${r.code}: ${r.stderr}`);
      },
    });
    const timings = await measure(
      [
        ctrRun("runc", "/usr/sbin/runc"),
        ctrRun("runc (sh wrapper)", runcWrapper),
        ctrRun("denki (sh wrapper)", c.denki),
      ],
      ctx.rounds,
      2,
    );
    return title + report(timings, "runc");
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
