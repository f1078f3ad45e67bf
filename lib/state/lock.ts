/**
 * Locks on container state: an exclusive flock on the container's directory while a command
 * changes it. Claiming a new id also holds a short lock on the state root, so that between
 * one creator's mkdir and its flock no other creator can take the new directory for the
 * leftover of a create that died. Leftovers are never emptied here: only what denki made
 * in them may go, and that is lifecycle/leftover.ts's decision.
 */
import {
  causeOf,
  ContainerExists,
  ContainerNotFound,
  DenkiError,
  SyscallError,
} from "../errors.ts";
import * as sc from "../sys/syscalls.ts";
import type { StateStore } from "./store.ts";

/** An exclusive lock on one container's directory, held until `release()`. */
export class ContainerLock {
  #fd: number | undefined;
  /** Set by `claim` when the directory was already there without state: a dead create's. */
  leftover = false;

  constructor(readonly id: string, readonly dir: string, fd: number) {
    this.#fd = fd;
  }

  /** Drops the lock (idempotent). */
  release(): void {
    if (this.#fd !== undefined) sc.close(this.#fd);
    this.#fd = undefined;
  }

  /** True until released. */
  get held(): boolean {
    return this.#fd !== undefined;
  }

  /** The locked directory's fd (while held). */
  get fd(): number {
    if (this.#fd === undefined) throw new Error(`internal error: lock of "${this.id}" released`);
    return this.#fd;
  }
}

/**
 * Locks a container's directory (opened relative to the trusted root, never through a link);
 * undefined when it does not exist, or (wait false) is locked by someone else, or was removed
 * while we waited (the lock is only worth something on the live path).
 */
function lockDir(store: StateStore, id: string, wait: boolean): ContainerLock | undefined {
  const dir = store.dirOf(id);
  const fd = store.openDir(id);
  if (fd === undefined) return undefined;
  try {
    if (!sc.flockExclusive(fd, wait, dir)) {
      sc.close(fd);
      return undefined;
    }
  } catch (err) {
    sc.close(fd);
    throw new DenkiError(`cannot lock state directory ${dir}: ${(err as Error).message}`);
  }
  const live = sc.fileId(store.rootFd()!, id, sc.AT_SYMLINK_NOFOLLOW);
  if (sc.fileId(fd, "", sc.AT_EMPTY_PATH) !== live) {
    sc.close(fd);
    return undefined;
  }
  return new ContainerLock(id, dir, fd);
}

/**
 * Claims a new container id: creates its directory and returns it locked. Fails with
 * ContainerExists when a container with that id exists or is being created right now. The
 * directory of a create that died is returned locked with `leftover` set: the caller
 * undoes what that create made before it reuses it (lifecycle/leftover.ts).
 */
export function claim(store: StateStore, id: string): ContainerLock {
  const dir = store.dirOf(id);
  const rootFd = store.rootFd(true)!;
  // The root's own lock, on a description of its own (closing it must not drop the store's).
  const rootLock = sc.openat(rootFd, ".", sc.O_RDONLY | sc.O_DIRECTORY | sc.O_CLOEXEC);
  try {
    sc.flockExclusive(rootLock, true, store.root);
    let made = true;
    try {
      // 0711 like runc: a container process that is not root must reach the exec fifo.
      sc.mkdirat(rootFd, id, 0o711);
    } catch (err) {
      if (!(err instanceof SyscallError) || err.errno !== sc.Errno.EEXIST) {
        throw new DenkiError(`cannot create state directory ${dir}: ${causeOf(err)}`);
      }
      made = false;
    }
    // Anyone holding an existing directory's lock is a live creator or a command on a live
    // container: not a leftover.
    const lock = lockDir(store, id, made);
    if (lock === undefined) throw new ContainerExists(id);
    if (!made) {
      if (store.hasStateAt(lock.fd)) {
        lock.release();
        throw new ContainerExists(id);
      }
      lock.leftover = true;
    }
    return lock;
  } finally {
    sc.close(rootLock);
  }
}

/** Locks an existing container; ContainerNotFound when it has no state. */
export function acquire(store: StateStore, id: string): ContainerLock {
  const lock = lockDir(store, id, true);
  if (lock === undefined) throw new ContainerNotFound(id);
  // A concurrent delete may have removed the state while we waited for the lock.
  if (!store.hasStateAt(lock.fd)) {
    lock.release();
    throw new ContainerNotFound(id);
  }
  return lock;
}

/**
 * Locks a container's directory whether or not it has state (waiting for a live creator);
 * undefined when there is no directory.
 */
export function acquireAny(store: StateStore, id: string): ContainerLock | undefined {
  return lockDir(store, id, true);
}
