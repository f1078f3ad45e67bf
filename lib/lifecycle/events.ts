/**
 * `events`: the container's resource usage as runc prints it, once (`--stats`) or every
 * interval, and an "oom" event whenever the kernel's OOM killer strikes in its cgroup. The
 * OOM counter is polled (memory.oom_control on v1, memory.events on v2): one cheap read every
 * 100 ms works the same on both, where an eventfd would only cover v1.
 */
import { collectStats, pageSizeName, type Stats, toJson } from "../cgroups/stats.ts";
import { DenkiError } from "../errors.ts";
import { readProcessInfo } from "../state/proc.ts";
import { isAlive } from "../state/status.ts";
import * as sc from "../sys/syscalls.ts";
import { withCgroup } from "./control.ts";

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration ("5s", "1m30s", "250ms") in milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
  }
  return total;
}

/** Huge page sizes this kernel has, named as runc names them ("2MB", "1GB"). */
function hugePageSizes(): string[] {
  try {
    return sc.listDir("/sys/kernel/mm/hugepages").map(pageSizeName)
      .filter((s): s is string => s !== undefined);
  } catch {
    return [];
  }
}

/** A container's cgroup stats now (runc's types.Stats); refused once it has stopped. */
export function containerStats(root: string, id: string): Stats {
  const { status, cg } = withCgroup(root, id, "get stats of");
  if (status === "stopped") throw new DenkiError(`container "${id}" is not running`);
  return collectStats(cg, hugePageSizes());
}

/** Prints events until the container stops; with `once`, one stats event and returns. */
export async function containerEvents(
  root: string,
  id: string,
  opts: { once: boolean; intervalMs: number },
  write: (line: string) => void,
): Promise<void> {
  const { rec, status, cg } = withCgroup(root, id, "get events of");
  if (status === "stopped") throw new DenkiError(`container "${id}" is not running`);
  const sizes = hugePageSizes();
  const stats = () => write(toJson({ type: "stats", id, data: collectStats(cg, sizes) }));
  if (opts.once) return stats();
  let ooms = cg.oomKills();
  let nextStats = Date.now();
  for (;;) {
    // Liveness first: an OOM kill that ends the container is still reported below.
    const alive = isAlive(rec.pid, rec.pidStartTime, readProcessInfo);
    const kills = cg.oomKills();
    if (kills > ooms) write(toJson({ type: "oom", id }));
    ooms = kills;
    if (!alive) return;
    if (Date.now() >= nextStats) {
      stats();
      nextStats = Date.now() + opts.intervalMs;
    }
    await new Promise((r) => setTimeout(r, Math.min(100, Math.max(1, nextStats - Date.now()))));
  }
}
