/**
 * The exec fifo, seen from the init: opened now as an O_PATH fd of the fifo itself (never its
 * directory, which would leave a way back to the host from this process), and reopened for
 * writing when the init is ready to block on `start`. The reopen goes through a procfs
 * instance of the init's own, mounted nowhere, so it works whatever the container mounts at
 * /proc.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { cString, syscall } from "../sys/libc.ts";
import * as sc from "../sys/syscalls.ts";

const FSOPEN_CLOEXEC = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSMOUNT_CLOEXEC = 1;

/** A detached procfs of this process's pid namespace, or undefined where the kernel lacks one. */
function privateProc(): number | undefined {
  const fs = syscall("fsopen", cString("proc"), FSOPEN_CLOEXEC);
  if (fs.ret < 0n) return undefined;
  try {
    if (syscall("fsconfig", fs.ret, FSCONFIG_CMD_CREATE, 0, 0, 0).ret < 0n) return undefined;
    const mnt = syscall("fsmount", fs.ret, FSMOUNT_CLOEXEC, 0);
    return mnt.ret < 0n ? undefined : Number(mnt.ret);
  } finally {
    syscall("close", fs.ret);
  }
}

/** A fifo to open for writing later, from wherever the init's root is by then. */
export interface LaterFifo {
  /** Blocks until a reader opens the fifo; returns the write end (close-on-exec). */
  open(): number;
}

/** Takes hold of the fifo at `path` for a later `open`. */
export function openFifoLater(path: string): LaterFifo {
  let fifo: number;
  try {
    fifo = sc.open(path, sc.O_PATH | sc.O_CLOEXEC);
  } catch (err) {
    throw new DenkiError(`cannot open exec fifo ${path}: ${(err as Error).message}`);
  }
  const proc = privateProc();
  return {
    open() {
      const name = `thread-self/fd/${fifo}`;
      try {
        return proc !== undefined
          ? sc.openat(proc, name, sc.O_WRONLY | sc.O_CLOEXEC)
          : sc.open(`/proc/${name}`, sc.O_WRONLY | sc.O_CLOEXEC);
      } catch (err) {
        if (err instanceof SyscallError) {
          throw new DenkiError(`cannot reopen the exec fifo: ${err.message}`);
        }
        throw err;
      } finally {
        sc.close(fifo);
        if (proc !== undefined) sc.close(proc);
      }
    },
  };
}
