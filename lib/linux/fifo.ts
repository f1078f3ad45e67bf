/**
 * The exec fifo, seen from the init: opened now as an O_PATH fd of the fifo itself (never its
 * directory, which would leave a way back to the host from this process), and reopened for
 * writing when the init is ready to block on `start`. The reopen goes through a procfs
 * instance of the init's own, mounted nowhere, so it works whatever the container mounts at
 * /proc.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import * as sc from "../sys/syscalls.ts";

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
  return fifoLater(fifo);
}

/**
 * The same from an O_PATH fd of the fifo that `create` passed (an init in a user namespace,
 * whose root cannot reach the state directory); the fd is this object's to close.
 */
export function fifoLater(fifo: number): LaterFifo {
  // A procfs of this process's pid namespace, where the kernel can make one.
  const proc = sc.detachedMount("proc");
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
