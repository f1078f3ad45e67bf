/**
 * `start`: release the container init blocked on the exec fifo, and learn from it whether the
 * startContainer hooks passed. Then the container is "running" and poststart hooks run here.
 */
import { DenkiError } from "../errors.ts";
import { runHooksWarning } from "../hooks.ts";
import type { Logger } from "../log.ts";
import { currentStatus, readProcessInfo } from "../state/proc.ts";
import type { ContainerRecord } from "../state/record.ts";
import { isAlive, requireStatus } from "../state/status.ts";
import { EXEC_FIFO } from "../state/store.ts";
import { POLLIN } from "../plan/abi.ts";
import * as sc from "../sys/syscalls.ts";
import { lockContainer, recordHookState } from "./common.ts";

function removeFifo(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // the state directory goes with delete anyway
  }
}

/** Whatever is left in the fifo once its writer is dead, up to its end (or one second). */
function drainFifo(fd: number, buf: Uint8Array): number[] {
  const out: number[] = [];
  const end = Date.now() + 1000;
  while (Date.now() < end) {
    const r = sc.tryRead(fd, buf);
    if (r.n > 0) out.push(...buf.subarray(0, r.n));
    else if (r.n === 0) break;
    else sc.pollOne(fd, POLLIN, 50);
  }
  return out;
}

/**
 * Opens the fifo for reading (which lets the init's blocking open for writing return) and
 * reads its verdict until the init's end closes, which happens when the workload runs: "0"; or
 * "1" and an error message (a startContainer hook failed); or "0" and an error message (a step
 * after the release failed, and the workload never ran). Polls so that an init that dies
 * instead of answering is noticed.
 */
function releaseInit(dir: string, rec: ContainerRecord, log: Logger): void {
  const path = `${dir}/${EXEC_FIFO}`;
  let fd: number;
  try {
    fd = sc.open(path, sc.O_RDONLY | sc.O_NONBLOCK | sc.O_CLOEXEC);
  } catch (err) {
    throw new DenkiError(`cannot open exec fifo ${path}: ${(err as Error).message}`);
  }
  const chunks: number[] = [];
  try {
    const buf = new Uint8Array(4096);
    for (;;) {
      const r = sc.tryRead(fd, buf);
      if (r.n > 0) {
        // The init has opened its end and answered: from here the container counts as
        // started (the fifo is gone) even if this command is interrupted. Removing it any
        // earlier could beat the init's own open, which would then find no fifo.
        if (chunks.length === 0) removeFifo(path);
        chunks.push(...buf.subarray(0, r.n));
        continue;
      }
      // 0 bytes: no writer yet (nothing read so far) or the init closed its end (done).
      if (r.n === 0 && chunks.length > 0) break;
      if (!isAlive(rec.pid, rec.pidStartTime, readProcessInfo)) {
        // It may have answered (a failing startContainer hook) and exited: what it wrote is
        // still in the fifo, and its other threads may hold the write end a moment longer
        // than its main thread lives, so read to the end.
        chunks.push(...drainFifo(fd, buf));
        if (chunks.length > 0) {
          removeFifo(path);
          break;
        }
        throw new DenkiError(`cannot start container "${rec.id}": its init exited before starting`);
      }
      sc.pollOne(fd, POLLIN, 100);
    }
  } finally {
    sc.close(fd);
  }
  const answer = new TextDecoder().decode(new Uint8Array(chunks));
  if (answer === "0") return;
  if (answer.startsWith("0")) {
    // Released, then a last step failed before the workload ran: the init wrote which one
    // (the same line the container's stderr got) and exited with a failure status.
    const why = answer.slice(1).trim().split("\n")[0]!.slice(0, 1000);
    log.debug(`container "${rec.id}": the workload never ran: ${why}`);
    throw new DenkiError(`container "${rec.id}" did not start: ${why}`);
  }
  throw new DenkiError(
    answer.startsWith("1") ? answer.slice(1).trim() : `unexpected answer "${answer}"`,
  );
}

/** Starts a created container; returns its record, now "running". */
export async function startContainer(
  root: string,
  id: string,
  log: Logger,
): Promise<ContainerRecord> {
  const { store, lock, release } = lockContainer(root, id);
  try {
    const rec = store.read(id);
    requireStatus("start", id, currentStatus(rec, lock.dir));
    releaseInit(lock.dir, rec, log);
    const running: ContainerRecord = { ...rec, status: "running" };
    store.write(lock, running);
    await runHooksWarning(
      "poststart",
      rec.hooks?.poststart,
      recordHookState(running, "running"),
      (message) => log.warn(message),
    );
    return running;
  } finally {
    release();
  }
}
