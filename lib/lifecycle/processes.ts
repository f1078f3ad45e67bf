/**
 * Every process of a container: its cgroup's (frozen while they are signalled), or without a
 * cgroup its pid namespace's. Only `kill --all` and `delete` need this (and the cgroup code it
 * loads), so a plain `kill` does not load it.
 */
import { Cgroup, type CgroupRecord } from "../cgroups/manager.ts";
import { DenkiError, SyscallError } from "../errors.ts";
import { SIGKILL } from "../plan/abi.ts";
import { signalName } from "../plan/signals.ts";
import type { ContainerRecord } from "../state/record.ts";
import * as sc from "../sys/syscalls.ts";

/** The pid namespace inode link of a process, e.g. "pid:[4026531836]". */
function pidNamespace(pid: number | "self"): string | undefined {
  return sc.readlinkat(sc.AT_FDCWD, `/proc/${pid}/ns/pid`);
}

/** The pids that live in a pid namespace other than the runtime's. */
export function otherNamespaces(pids: readonly number[]): number[] {
  const ours = pidNamespace("self");
  return pids.filter((pid) => {
    const ns = pidNamespace(pid);
    return ns !== undefined && ns !== ours;
  });
}

/** Every process of the container: its cgroup's, or without one, its pid namespace's. */
export function containerPids(rec: ContainerRecord): number[] {
  if (rec.cgroup !== undefined) return new Cgroup(rec.cgroup).pids();
  const ns = pidNamespace(rec.pid);
  if (ns === undefined) return [];
  if (ns === pidNamespace("self")) {
    throw new DenkiError(
      `kill --all: container "${rec.id}" shares the host pid namespace; without cgroups denki cannot tell its processes apart`,
    );
  }
  const pids: number[] = [];
  for (const name of sc.listDir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    if (pidNamespace(Number(name) as number) === ns) pids.push(Number(name));
  }
  return pids;
}

/**
 * Signals every process of the cgroup. Frozen first (unless already paused), so nothing can
 * fork a process the signal misses; thawed after, and also after SIGKILL of a paused
 * container, whose processes only die once they run again.
 */
export async function signalCgroup(rec: CgroupRecord, signal: number): Promise<void> {
  const cg = new Cgroup(rec);
  const wasFrozen = cg.freezerState() === "frozen";
  if (!wasFrozen) await cg.freeze();
  try {
    for (const pid of cg.pids()) {
      const errno = sc.kill(pid, signal);
      if (errno !== 0 && errno !== sc.Errno.ESRCH) {
        throw new SyscallError("kill", `${signalName(signal)} to pid ${pid}`, errno);
      }
    }
  } finally {
    if (!wasFrozen || signal === SIGKILL) await cg.thaw();
  }
}
