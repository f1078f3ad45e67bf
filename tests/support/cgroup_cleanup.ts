/**
 * Removing cgroups a test (or the caller it drives) left behind: find them on every
 * hierarchy, thaw them, SIGKILL what is still inside by pid, and rmdir them deepest first.
 * Shared by the cgroup, containerd and podman harnesses.
 */
import { exists } from "./fs.ts";

/** Every cgroup hierarchy mounted on this host (v1 controllers, named ones and cgroup2). */
export function cgroupHierarchies(): string[] {
  const out: string[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const [pre, post] = line.split(" - ");
    if (pre === undefined || post === undefined) continue;
    const fstype = post.split(" ")[0];
    if (fstype === "cgroup" || fstype === "cgroup2") out.push(pre.split(" ")[4]!);
  }
  return out;
}

/** Directories of cgroup `/<name>` (and below it) on any hierarchy, deepest first. */
export function cgroupsNamed(name: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    out.push(dir);
    for (const e of Deno.readDirSync(dir)) if (e.isDirectory) walk(`${dir}/${e.name}`);
  };
  for (const h of cgroupHierarchies()) {
    if (exists(`${h}/${name}`)) walk(`${h}/${name}`);
  }
  return out.sort((a, b) => b.split("/").length - a.split("/").length);
}

/**
 * Thaws each cgroup and SIGKILLs the processes in it (only the caller's own cgroups may be
 * passed: everything inside dies), then removes them deepest first, retrying while the
 * killed processes leave. Returns the directories that could not be removed in `ms`.
 */
export async function emptyAndRemove(dirs: readonly string[], ms = 5000): Promise<string[]> {
  for (const dir of dirs) {
    try {
      if (exists(`${dir}/freezer.state`)) Deno.writeTextFileSync(`${dir}/freezer.state`, "THAWED");
      if (exists(`${dir}/cgroup.freeze`)) Deno.writeTextFileSync(`${dir}/cgroup.freeze`, "0");
    } catch {
      // best effort: killed tasks die once thawed
    }
    let procs = "";
    try {
      procs = Deno.readTextFileSync(`${dir}/cgroup.procs`);
    } catch {
      // removed meanwhile
    }
    for (const pid of procs.split("\n")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  const stuck: string[] = [];
  for (const dir of dirs) {
    const end = Date.now() + ms;
    for (;;) {
      try {
        Deno.removeSync(dir);
        break;
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) break;
        if (Date.now() > end) {
          stuck.push(`${dir} (${err})`);
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  return stuck;
}
