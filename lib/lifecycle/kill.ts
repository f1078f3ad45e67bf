/** `kill`: a signal to a container's init, or with `--all` to every process in it. */
import { InvalidState, SyscallError } from "../errors.ts";
import { signalName } from "../plan/signals.ts";
import { allows } from "../state/status.ts";
import { readContainer } from "./read.ts";
import * as sc from "../sys/syscalls.ts";

/** Sends a signal to the container's init, or with `all` to every process in it. */
export async function killContainer(
  root: string,
  id: string,
  signal: number,
  all: boolean,
): Promise<void> {
  const { rec, status } = readContainer(root, id);
  if (!allows("kill", status)) {
    throw new InvalidState(
      `cannot kill container "${id}": container not running (its status is "${status}")`,
    );
  }
  // Loaded only for --all: the cgroup code is most of what `kill` would otherwise load.
  const every = all ? await import("./processes.ts") : undefined;
  if (every !== undefined && rec.cgroup !== undefined) {
    return await every.signalCgroup(rec.cgroup, signal);
  }
  const targets = every !== undefined ? every.containerPids(rec) : [rec.pid];
  for (const pid of targets) {
    const errno = sc.kill(pid, signal);
    if (errno === sc.Errno.ESRCH) {
      if (pid === rec.pid && !all) {
        throw new InvalidState(`cannot kill container "${id}": container not running`);
      }
      continue;
    }
    if (errno !== 0) throw new SyscallError("kill", `${signalName(signal)} to pid ${pid}`, errno);
  }
}
