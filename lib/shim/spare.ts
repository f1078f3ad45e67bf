/**
 * The spare daemon's other half: starting one. A daemon starts the spare for the next pod
 * once its own pod is under way (after its first Start, or as it shuts down), never on a
 * container's critical path, and at the lowest CPU priority: its Deno start-up only takes
 * time the machine has to spare. Adopted, the spare takes back normal priority
 * (daemon.ts). At most one spare waits at a time.
 */
import { spawnWithFds } from "../sys/async_io.ts";
import * as sc from "../sys/syscalls.ts";
import { SPARE_SOCKET } from "./names.ts";
import { shimCommand } from "./command.ts";
import { canConnect } from "./start.ts";

const NICE = "/usr/bin/nice";
const PRIO_PGRP = 1;

/** Starts a spare daemon unless one is waiting; never fails (without one, pods start cold). */
export async function ensureSpare(): Promise<void> {
  try {
    if (await canConnect(SPARE_SOCKET)) return;
    const argv = shimCommand(["-namespace", "-", "spare"]);
    let nice: string[] = [];
    try {
      if (Deno.statSync(NICE).isFile) nice = [NICE, "-n", "19"];
    } catch {
      // no nice(1): it starts at normal priority
    }
    const full = [...nice, ...argv];
    const devnull = sc.open("/dev/null", sc.O_RDWR | sc.O_CLOEXEC);
    try {
      // Nothing of this process's files: the spare may outlive it by far.
      spawnWithFds(
        full[0]!,
        full,
        ["DENO_NO_UPDATE_CHECK=1"],
        [
          [0, devnull],
          [1, devnull],
          [2, devnull],
        ],
        3,
        // Not in this daemon's bundle: containerd removes that directory when the pod goes.
        { setsid: true, cwd: "/" },
      );
    } finally {
      sc.close(devnull);
    }
  } catch {
    // no spare this time
  }
}

/** Back to normal CPU priority for this process and its threads (its own process group). */
export function normalPriority(): void {
  sc.attempt("setpriority", PRIO_PGRP, 0, 0);
}
