/**
 * The container state store: one directory per container under the root (`--root`), holding
 * `state.json`. Writes are atomic (temp file + rename), so readers need no lock; commands that
 * change a container hold an exclusive flock on its directory while they do (lock.ts, kept
 * apart so that `state` and `list` load no system-call code).
 */
import { causeOf, ContainerNotFound, DenkiError } from "../errors.ts";
import type { ContainerLock } from "./lock.ts";
import { checkContainerId } from "./container_id.ts";
import { type ContainerRecord, parseRecord } from "./record.ts";

const STATE_FILE = "state.json";

/** The exec fifo in a container's directory: there while the container waits for `start`. */
export const EXEC_FIFO = "exec.fifo";
const TEMP_FILE = ".state.json.tmp";

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
      // Names with "@" are denki's own (the seccomp cache): no container id has one.
      names = [...Deno.readDirSync(this.root)].filter((e) => e.isDirectory && !e.name.includes("@"))
        .map((e) => e.name);
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

  /** True when a container directory holds a state file. */
  hasState(dir: string): boolean {
    try {
      Deno.statSync(`${dir}/${STATE_FILE}`);
      return true;
    } catch {
      return false;
    }
  }

  #checkHeld(lock: ContainerLock, id: string): void {
    if (!lock.held || lock.id !== id) {
      throw new Error(`internal error: state of "${id}" changed without holding its lock`);
    }
  }
}
