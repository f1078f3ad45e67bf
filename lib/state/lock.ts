/**
 * Locks on container state: an exclusive flock on the container's directory while a command
 * changes it. Claiming a new id also holds a short lock on the state root, so that between
 * one creator's mkdir and its flock no other creator can take the new directory for the
 * leftover of a create that died.
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
}

function openDir(path: string): number | undefined {
  const r = sc.tryOpenat(sc.AT_FDCWD, path, sc.O_RDONLY | sc.O_DIRECTORY | sc.O_CLOEXEC);
  if (r.fd >= 0) return r.fd;
  if (r.errno === sc.Errno.ENOENT || r.errno === sc.Errno.ENOTDIR) return undefined;
  throw new DenkiError(`cannot open ${path}: ${new SyscallError("open", path, r.errno).message}`);
}

/**
 * Locks a directory; undefined when it does not exist, or (wait false) is locked by someone
 * else, or was removed while we waited (the lock is only worth something on the live path).
 */
function lockDir(id: string, dir: string, wait: boolean): ContainerLock | undefined {
  const fd = openDir(dir);
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
  if (sc.fileId(fd, "", sc.AT_EMPTY_PATH) !== sc.fileId(sc.AT_FDCWD, dir)) {
    sc.close(fd);
    return undefined;
  }
  return new ContainerLock(id, dir, fd);
}

/**
 * Claims a new container id: creates its directory and returns it locked. Fails with
 * ContainerExists when a container with that id exists or is being created right now; the
 * leftover of a create that died is emptied and reused.
 */
export function claim(store: StateStore, id: string): ContainerLock {
  const dir = store.dirOf(id);
  try {
    Deno.mkdirSync(store.root, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new DenkiError(`cannot create state root ${store.root}: ${causeOf(err)}`);
  }
  const root = lockDir("", store.root, true);
  if (root === undefined) throw new DenkiError(`cannot lock state root ${store.root}`);
  try {
    let made = true;
    try {
      // 0711 like runc: a container process that is not root must reach the exec fifo.
      Deno.mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        throw new DenkiError(`cannot create state directory ${dir}: ${causeOf(err)}`);
      }
      made = false;
    }
    // Anyone holding an existing directory's lock is a live creator or a command on a live
    // container: not a leftover.
    const lock = lockDir(id, dir, made);
    if (lock === undefined) throw new ContainerExists(id);
    if (!made) {
      if (store.hasState(dir)) {
        lock.release();
        throw new ContainerExists(id);
      }
      empty(dir);
    }
    return lock;
  } finally {
    root.release();
  }
}

/** Locks an existing container; ContainerNotFound when it has no state. */
export function acquire(store: StateStore, id: string): ContainerLock {
  const dir = store.dirOf(id);
  const lock = lockDir(id, dir, true);
  if (lock === undefined) throw new ContainerNotFound(id);
  // A concurrent delete may have removed the state while we waited for the lock.
  if (!store.hasState(dir)) {
    lock.release();
    throw new ContainerNotFound(id);
  }
  return lock;
}

/** Removes everything in a reused leftover directory (the last attempt's exec fifo). */
function empty(dir: string): void {
  try {
    for (const e of Deno.readDirSync(dir)) Deno.removeSync(`${dir}/${e.name}`, { recursive: true });
  } catch (err) {
    throw new DenkiError(`cannot clear state directory ${dir}: ${causeOf(err)}`);
  }
}
