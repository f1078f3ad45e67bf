/**
 * The console socket of a process with a terminal (create and exec): the caller's socket,
 * connected here, or for a foreground run or exec a socketpair whose other end receives the
 * pty master for the relay.
 */
import { causeOf, DenkiError, SyscallError } from "../errors.ts";
import { describeErrno } from "../plan/errno.ts";
import * as sc from "../sys/syscalls.ts";
import { connectUnix, recvWithFds } from "../sys/unix.ts";

/** The console socket ends: the init's (inherited) and, for a foreground run, create's. */
export interface ConsoleEnds {
  initEnd: number;
  keep?: number;
  closeInitEnd(): void;
  close(): void;
}

/**
 * Connects to the caller's console socket here, as runc does: the path is the caller's
 * (relative to its cwd) and out of the init's reach once it switches root, and a bad path
 * fails before anything is created. Without one (a foreground run) a socketpair stands in.
 */
export function consoleEnds(path: string | undefined): ConsoleEnds {
  let initEnd: number | undefined;
  let keep: number | undefined;
  if (path === undefined) {
    [keep, initEnd] = sc.socketpair();
    sc.setCloexec(keep, true);
    sc.setCloexec(initEnd, true);
  } else {
    try {
      initEnd = connectUnix(path);
    } catch (err) {
      const cause = err instanceof SyscallError ? describeErrno(err.errno) : causeOf(err);
      throw new DenkiError(`cannot connect to console socket ${path}: ${cause}`);
    }
  }
  const ends: ConsoleEnds = {
    initEnd,
    ...(keep === undefined ? {} : { keep }),
    closeInitEnd() {
      if (initEnd !== undefined) sc.close(initEnd);
      initEnd = undefined;
    },
    close() {
      ends.closeInitEnd();
      if (keep !== undefined) sc.close(keep);
      keep = undefined;
    },
  };
  return ends;
}

/** Receives the pty master the init sent on the socketpair (exactly one fd). */
export function receiveMaster(sock: number): number {
  const { fds } = recvWithFds(sock, 4096, 2);
  if (fds.length !== 1) {
    for (const fd of fds) sc.close(fd);
    throw new DenkiError("the container process did not send its terminal");
  }
  return fds[0]!;
}
