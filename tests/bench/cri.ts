/**
 * Pod start through containerd's CRI plugin, per runtime handler, one interleaved run: what a
 * kubelet waits for between deciding to run a pod and seeing its container running
 * (RunPodSandbox, CreateContainer, StartContainer, then ContainerStatus saying RUNNING), on
 * the harness's CRI node (tests/support/cri/node.ts) with a pod on the CNI bridge. Removing
 * the pod is not timed.
 *
 * Standalone: `deno run -A tests/bench/cri.ts [ROUNDS]` (default 10 rounds).
 */
import { bundle } from "../../bin/bundle.ts";
import type { BenchContext } from "./context.ts";
import { type Case, measure, report } from "./measure.ts";
import { CRI_REQS, CriNode } from "../support/cri/node.ts";
import { type Handler, HANDLERS } from "../support/cri/node_config.ts";
import { ContainerState } from "../support/cri/messages.ts";

/** The section: a markdown table, or why it could not run here. */
export async function criSection(ctx: Pick<BenchContext, "rounds">): Promise<string> {
  const title = "## CRI: pod start per runtime handler (busybox `sleep` in a pod)\n\n";
  const missing = CRI_REQS.filter((r) => r !== undefined);
  if (missing.length > 0) return `${title}skipped: ${missing.join(", ")}`;
  const node = new CriNode();
  try {
    await node.start();
    let n = 0;
    const podStart = (handler: Handler): Case => {
      let podId = "";
      let parent = "";
      return {
        name: handler,
        fn: async () => {
          const name = `bench-${n++}`;
          const pod = node.podConfig(name);
          parent = node.cgroupParent(name);
          const run = await node.runPod(handler, pod, [
            node.containerConfig("sleeper", ["sleep", "1000"]),
          ]);
          podId = run.podId;
          const id = run.ids[0];
          const s = await node.containerStatus(id!);
          if (s.state !== ContainerState.CONTAINER_RUNNING) {
            throw new Error(`${handler}: container ${id} is not running (${s.state})`);
          }
        },
        after: () => node.removePod(podId, parent),
      };
    };
    const timings = await measure(HANDLERS.map(podStart), ctx.rounds, 2);
    return `${title}${
      report(timings, "runc")
    }\n\nTarget: the denki handler (denki's shim) <= 1.0x runc.\n`;
  } finally {
    const left = (await node.stop()).filter((l) => !l.startsWith("cgroup "));
    // The pods' parent cgroups are the kubelet's to remove; the harness does. Anything else
    // is a leak worth knowing about.
    if (left.length > 0) console.error(`CRI bench left: ${left.join(", ")}`);
  }
}

if (import.meta.main) {
  await bundle();
  console.log(await criSection({ rounds: Number(Deno.args[0] ?? 10) }));
}
