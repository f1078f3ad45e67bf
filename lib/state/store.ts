/**
 * The container state store: one directory per container under the root (`--root`), holding
 * `state.json`. Writes are atomic (temp file + rename), so readers need no lock; commands that
 * change a container hold an exclusive flock on its directory while they do (lock.ts, kept
 * apart so that `state` and `list` load no system-call code).
 *
 * The root is checked before anything under it is believed (trust.ts), and container
 * directories and their files are opened relative to its fd, never through a symbolic link.
 * A directory without `state.json` is a container being created, or the leftover of a create
 * that died: its `creating.json` says what that create had made.
 */
import { ContainerNotFound, DenkiError, quote } from "../errors.ts";
import { describeErrno } from "../plan/errno.ts";
import type { ContainerLock } from "./lock.ts";
import { checkContainerId } from "./container_id.ts";
import { type ContainerRecord, type CreatingRecord, parseCreating, parseRecord } from "./record.ts";
import * as t from "./trust.ts";

const STATE_FILE = "state.json";
const TEMP_FILE = ".state.json.tmp";
/** What `create` records before it makes anything (see CreatingRecord). */
export const CREATING_FILE = "creating.json";
const CREATING_TEMP = ".creating.json.tmp";

/** The exec fifo in a container's directory: there while the container waits for `start`. */
export const EXEC_FIFO = "exec.fifo";

/** Every name denki makes in a container's directory: anything else is not denki's to remove. */
export const OWN_NAMES: readonly string[] = [
  STATE_FILE,
  TEMP_FILE,
  CREATING_FILE,
  CREATING_TEMP,
  EXEC_FIFO,
];

/**
 * One entry of `list()`: a readable record; a directory without state (`creating`: what its
 * create recorded, if anything); or the error that made it unreadable.
 */
export type ListEntry =
  | { id: string; record: ContainerRecord }
  | { id: string; creating: CreatingRecord | undefined }
  | { id: string; error: Error };

/** File-backed store of container records under one root directory. */
export class StateStore {
  #rootFd: number | undefined;

  constructor(readonly root: string) {}

  /**
   * The root's fd once it passed the trust checks (made first when `create`); undefined when
   * it does not exist. Kept open for the store's life (close-on-exec).
   */
  rootFd(create = false): number | undefined {
    this.#rootFd ??= t.openStateRoot(this.root, create);
    return this.#rootFd;
  }

  /** Closes the root's fd (a long-lived caller's; CLI commands just exit). */
  close(): void {
    if (this.#rootFd !== undefined) t.closeFd(this.#rootFd);
    this.#rootFd = undefined;
  }

  /** The directory of a container (the id is checked first). */
  dirOf(id: string): string {
    checkContainerId(id);
    return `${this.root}/${id}`;
  }

  /**
   * Opens a container's directory relative to the root, never through a link; undefined when
   * there is none. A symbolic link in its place is an error: only someone else puts one there.
   */
  openDir(id: string): number | undefined {
    const dir = this.dirOf(id);
    const root = this.rootFd();
    if (root === undefined) return undefined;
    const r = t.openAt(root, id, t.DIR_FLAGS);
    if (r.fd >= 0) return r.fd;
    if (r.errno === t.ENOENT) return undefined;
    if (r.errno === t.ELOOP || r.errno === t.ENOTDIR) {
      if (((t.statAt(root, id)?.mode ?? 0) & t.S_IFMT) === t.S_IFLNK) {
        throw new DenkiError(`refusing state directory ${dir}: it is a symbolic link`);
      }
      return undefined;
    }
    throw new DenkiError(`cannot open state directory ${dir}: ${describeErrno(r.errno)}`);
  }

  /** A regular file of an open container directory as text; undefined when it is missing. */
  readFileAt(dirfd: number, dir: string, name: string): string | undefined {
    const file = `${dir}/${name}`;
    const r = t.openAt(dirfd, name, t.FILE_FLAGS);
    if (r.fd < 0) {
      if (r.errno === t.ENOENT) return undefined;
      if (r.errno === t.ELOOP) throw new DenkiError(`refusing ${file}: it is a symbolic link`);
      throw new DenkiError(`cannot read state file ${file}: ${describeErrno(r.errno)}`);
    }
    try {
      if (((t.statAt(r.fd)?.mode ?? 0) & t.S_IFMT) !== t.S_IFREG) {
        throw new DenkiError(`refusing ${file}: it is not a regular file`);
      }
      return new TextDecoder().decode(t.readAll(r.fd, file));
    } finally {
      t.closeFd(r.fd);
    }
  }

  /** Reads a container's record (no lock needed: writers rename whole files). */
  read(id: string): ContainerRecord {
    const dir = this.dirOf(id);
    const fd = this.openDir(id);
    if (fd === undefined) throw new ContainerNotFound(id);
    let text: string | undefined;
    try {
      text = this.readFileAt(fd, dir, STATE_FILE);
    } finally {
      t.closeFd(fd);
    }
    if (text === undefined) throw new ContainerNotFound(id);
    const file = `${dir}/${STATE_FILE}`;
    const record = parseRecord(file, text);
    if (record.id !== id) {
      throw new DenkiError(
        `corrupt state file ${file}: it belongs to container ${quote(record.id)}`,
      );
    }
    return record;
  }

  /** What the create of a directory without state recorded; undefined when nothing. */
  readCreatingAt(dirfd: number, id: string): CreatingRecord | undefined {
    const dir = this.dirOf(id);
    const text = this.readFileAt(dirfd, dir, CREATING_FILE);
    if (text === undefined) return undefined;
    const file = `${dir}/${CREATING_FILE}`;
    const rec = parseCreating(file, text);
    if (rec.id !== id) {
      throw new DenkiError(`corrupt state file ${file}: it belongs to container ${quote(rec.id)}`);
    }
    return rec;
  }

  /** True when an open container directory holds a state file. */
  hasStateAt(dirfd: number): boolean {
    return t.statAt(dirfd, STATE_FILE) !== undefined;
  }

  /** Atomically replaces the record of a locked container (its creating record goes). */
  write(lock: ContainerLock, record: ContainerRecord): void {
    this.#checkHeld(lock, record.id);
    this.#replace(lock, STATE_FILE, TEMP_FILE, record);
    try {
      Deno.removeSync(`${lock.dir}/${CREATING_FILE}`);
    } catch {
      // none (every write after the first)
    }
  }

  /** Atomically writes what a locked, still unrecorded container's create has made so far. */
  writeCreating(lock: ContainerLock, rec: CreatingRecord): void {
    this.#checkHeld(lock, rec.id);
    this.#replace(lock, CREATING_FILE, CREATING_TEMP, rec);
  }

  #replace(lock: ContainerLock, name: string, temp: string, value: unknown): void {
    const file = `${lock.dir}/${name}`;
    const tmp = `${lock.dir}/${temp}`;
    try {
      Deno.writeTextFileSync(tmp, JSON.stringify(value) + "\n", { mode: 0o600 });
      Deno.renameSync(tmp, file);
    } catch (err) {
      throw new DenkiError(`cannot write state file ${file}: ${(err as Error).message}`);
    }
  }

  /** Removes a locked container's directory and everything in it, then releases the lock. */
  remove(lock: ContainerLock): void {
    this.#checkHeld(lock, lock.id);
    try {
      Deno.removeSync(lock.dir, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new DenkiError(
          `cannot remove state directory ${lock.dir}: ${(err as Error).message}`,
        );
      }
    } finally {
      lock.release();
    }
  }

  /**
   * Every container directory, sorted by id: recorded containers, directories without state
   * (being created, or left by a create that died) and unreadable ones. A missing root is an
   * empty list.
   */
  list(): ListEntry[] {
    if (this.rootFd() === undefined) return [];
    let names: string[];
    try {
      // Names with "@" are denki's own (the seccomp cache): no container id has one. Links
      // are not directories here, so they are never followed.
      names = [...Deno.readDirSync(this.root)].filter((e) => e.isDirectory && !e.name.includes("@"))
        .map((e) => e.name);
    } catch (err) {
      throw new DenkiError(`cannot read state root ${this.root}: ${(err as Error).message}`);
    }
    const entries: ListEntry[] = [];
    for (const id of names.sort()) {
      try {
        entries.push({ id, record: this.read(id) });
      } catch (err) {
        if (!(err instanceof ContainerNotFound)) {
          entries.push({ id, error: err as Error });
          continue;
        }
        try {
          const fd = this.openDir(id);
          if (fd === undefined) continue; // deleted meanwhile
          try {
            entries.push({ id, creating: this.readCreatingAt(fd, id) });
          } finally {
            t.closeFd(fd);
          }
        } catch (err) {
          entries.push({ id, error: err as Error });
        }
      }
    }
    return entries;
  }

  #checkHeld(lock: ContainerLock, id: string): void {
    if (!lock.held || lock.id !== id) {
      throw new Error(`internal error: state of "${id}" changed without holding its lock`);
    }
  }
}
