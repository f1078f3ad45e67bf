/**
 * The container state store: one directory per container under the root (`--root`), holding
 * `state.json`. Writes are atomic (temp file + rename), so readers need no lock; commands that
 * change a container hold an exclusive flock on its directory while they do.
 */
import { causeOf, ContainerExists, ContainerNotFound, DenkiError } from "../errors.ts";
import { checkContainerId } from "./container_id.ts";
import { type ContainerRecord, parseRecord } from "./record.ts";

const STATE_FILE = "state.json";

/** The exec fifo in a container's directory: there while the container waits for `start`. */
export const EXEC_FIFO = "exec.fifo";
const TEMP_FILE = ".state.json.tmp";

/** An exclusive lock on one container's directory, held until `release()`. */
export class ContainerLock {
  #file: Deno.FsFile | undefined;

  constructor(readonly id: string, readonly dir: string, file: Deno.FsFile) {
    this.#file = file;
  }

  /** Drops the lock (idempotent). */
  release(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  /** True until released. */
  get held(): boolean {
    return this.#file !== undefined;
  }
}

/** One entry of `list()`: a readable record, or the error that made it unreadable. */
export type ListEntry = { id: string; record: ContainerRecord } | { id: string; error: Error };

/** File-backed store of container records under one root directory. */
export class StateStore {
  constructor(readonly root: string) {}

  /** The directory of a container (the id is checked first). */
  dirOf(id: string): string {
    checkContainerId(id);
    return `${this.root}/${id}`;
  }

  /**
   * Claims a new container id: creates its directory and returns it locked. Fails with
   * ContainerExists when a container with that id exists (or is being created right now).
   */
  create(id: string): ContainerLock {
    const dir = this.dirOf(id);
    try {
      Deno.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new DenkiError(`cannot create state root ${this.root}: ${causeOf(err)}`);
    }
    // Retried because a concurrent delete can remove a leftover directory between our steps.
    for (let attempt = 0; attempt < 3; attempt++) {
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
      const lock = this.#lockDir(id, dir);
      if (lock === undefined) continue;
      // An existing directory is a live container, one being created (its creator held the
      // lock until now), or the leftover of a create that died before writing its state:
      // only the last may be reused.
      if (!made && this.#hasState(dir)) {
        lock.release();
        throw new ContainerExists(id);
      }
      // A reused leftover may still hold the last attempt's files (its exec fifo).
      if (!made) this.#empty(dir);
      return lock;
    }
    throw new DenkiError(`cannot create state directory ${dir}: it keeps disappearing`);
  }

  /** Locks an existing container; ContainerNotFound when it has no state. */
  lock(id: string): ContainerLock {
    const dir = this.dirOf(id);
    const lock = this.#lockDir(id, dir);
    if (lock === undefined) throw new ContainerNotFound(id);
    // A concurrent delete may have removed the state while we waited for the lock.
    if (!this.#hasState(dir)) {
      lock.release();
      throw new ContainerNotFound(id);
    }
    return lock;
  }

  /** Reads a container's record (no lock needed: writers rename whole files). */
  read(id: string): ContainerRecord {
    const file = `${this.dirOf(id)}/${STATE_FILE}`;
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        throw new ContainerNotFound(id);
      }
      throw new DenkiError(`cannot read state file ${file}: ${causeOf(err)}`);
    }
    const record = parseRecord(file, text);
    if (record.id !== id) {
      throw new DenkiError(`corrupt state file ${file}: it belongs to container "${record.id}"`);
    }
    return record;
  }

  /** Atomically replaces the record of a locked container. */
  write(lock: ContainerLock, record: ContainerRecord): void {
    this.#checkHeld(lock, record.id);
    const tmp = `${lock.dir}/${TEMP_FILE}`;
    const file = `${lock.dir}/${STATE_FILE}`;
    try {
      Deno.writeTextFileSync(tmp, JSON.stringify(record) + "\n", { mode: 0o600 });
      Deno.renameSync(tmp, file);
    } catch (err) {
      throw new DenkiError(`cannot write state file ${file}: ${causeOf(err)}`);
    }
  }

  /** Removes a locked container's directory and everything in it, then releases the lock. */
  remove(lock: ContainerLock): void {
    this.#checkHeld(lock, lock.id);
    try {
      Deno.removeSync(lock.dir, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new DenkiError(`cannot remove state directory ${lock.dir}: ${causeOf(err)}`);
      }
    } finally {
      lock.release();
    }
  }

  /** Every container with a state file, sorted by id; a missing root is an empty list. */
  list(): ListEntry[] {
    let names: string[];
    try {
      names = [...Deno.readDirSync(this.root)].filter((e) => e.isDirectory).map((e) => e.name);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw new DenkiError(`cannot read state root ${this.root}: ${causeOf(err)}`);
    }
    const entries: ListEntry[] = [];
    for (const id of names.sort()) {
      try {
        entries.push({ id, record: this.read(id) });
      } catch (err) {
        // Directories without state are containers still being created: not listed yet.
        if (err instanceof ContainerNotFound) continue;
        entries.push({ id, error: err as Error });
      }
    }
    return entries;
  }

  #empty(dir: string): void {
    try {
      for (const e of Deno.readDirSync(dir)) {
        Deno.removeSync(`${dir}/${e.name}`, { recursive: true });
      }
    } catch (err) {
      throw new DenkiError(`cannot clear state directory ${dir}: ${causeOf(err)}`);
    }
  }

  #hasState(dir: string): boolean {
    try {
      Deno.statSync(`${dir}/${STATE_FILE}`);
      return true;
    } catch {
      return false;
    }
  }

  /** Opens and flocks a container directory; undefined when the directory does not exist. */
  #lockDir(id: string, dir: string): ContainerLock | undefined {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(dir, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        return undefined;
      }
      throw new DenkiError(`cannot open state directory ${dir}: ${causeOf(err)}`);
    }
    try {
      file.lockSync(true);
    } catch (err) {
      file.close();
      throw new DenkiError(`cannot lock state directory ${dir}: ${causeOf(err)}`);
    }
    // While we waited, the holder may have removed the directory (delete, a failed create):
    // the lock is only worth something if the path still names the directory we locked.
    if (!samePath(file, dir)) {
      file.close();
      return undefined;
    }
    return new ContainerLock(id, dir, file);
  }

  #checkHeld(lock: ContainerLock, id: string): void {
    if (!lock.held || lock.id !== id) {
      throw new Error(`internal error: state of "${id}" changed without holding its lock`);
    }
  }
}

function samePath(file: Deno.FsFile, path: string): boolean {
  try {
    const a = file.statSync();
    const b = Deno.statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}
