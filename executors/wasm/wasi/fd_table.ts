/** The guest's file descriptors: what each one is, its rights and flags. */
import { WasiError } from "./errno.ts";
import type { DirRef, Mount } from "./vfs.ts";
import { E } from "./types.ts";

/** What a descriptor refers to. */
export type FdKind = "stdin" | "stdout" | "stderr" | "file" | "dir" | "socket";

/** A cached directory listing, so fd_readdir cookies stay stable between calls. */
export interface DirListing {
  entries: { name: string; ino: bigint; type: number }[];
}

/** One descriptor. */
export interface FdEntry {
  kind: FdKind;
  filetype: number;
  rightsBase: bigint;
  rightsInheriting: bigint;
  /** fdflags (append, dsync, nonblock, rsync, sync). */
  flags: number;
  /** Open file (regular files and devices opened by path). */
  file?: Deno.FsFile;
  /**
   * A directory's own open handle (absent if it could not be opened for reading): it keeps
   * the inode alive and answers fstat and futimens without any path.
   */
  handle?: Deno.FsFile;
  /** Where a file or directory is, for path-based operations (kept up to date by renames). */
  guest?: string;
  host?: string;
  mount?: Mount;
  /** The inode it was opened on: a directory's path is checked against it at every use. */
  dev?: number;
  ino?: number;
  /** The name shown by fd_prestat_dir_name for preopens. */
  preopen?: string;
  /** Host descriptor number of a preopened socket. */
  socket?: number;
  /** fd_readdir's snapshot, taken at cookie 0. */
  listing?: DirListing;
}

/** The DirRef of a directory descriptor (its guest path and inode). */
export function dirRef(e: FdEntry): DirRef {
  if (e.guest === undefined || e.dev === undefined || e.ino === undefined) {
    throw new WasiError(E.NOTDIR);
  }
  return { guest: e.guest, dev: e.dev, ino: e.ino };
}

/** The descriptor table. */
export class FdTable {
  readonly #fds = new Map<number, FdEntry>();
  /**
   * Descriptor numbers the guest may open stop below this (RLIMIT_NOFILE's soft limit): an
   * open that would need a higher number is EMFILE, as on Linux. Preopens are not counted
   * against it (like descriptors a process inherits).
   */
  limit = Infinity;

  /** Installs an entry at a given number (stdio and preopens). */
  set(fd: number, entry: FdEntry): void {
    this.#fds.set(fd, entry);
  }

  /** Installs an entry at the lowest free number from 3 (EMFILE at the limit). */
  add(entry: FdEntry): number {
    let fd = 3;
    while (this.#fds.has(fd)) fd++;
    if (fd >= this.limit) throw new WasiError(E.MFILE);
    this.#fds.set(fd, entry);
    return fd;
  }

  /** The lowest free number would be within the limit (checked before opening anything). */
  room(): void {
    let fd = 3;
    while (this.#fds.has(fd)) fd++;
    if (fd >= this.limit) throw new WasiError(E.MFILE);
  }

  /** The entry of `fd`: EBADF when there is none, ENOTCAPABLE when `rights` are missing. */
  get(fd: number, rights = 0n): FdEntry {
    const e = this.#fds.get(fd);
    if (e === undefined) throw new WasiError(E.BADF);
    if ((e.rightsBase & rights) !== rights) throw new WasiError(E.NOTCAPABLE);
    return e;
  }

  /** True when `fd` is open. */
  has(fd: number): boolean {
    return this.#fds.has(fd);
  }

  /** Removes and returns an entry (EBADF when missing). */
  take(fd: number): FdEntry {
    const e = this.get(fd);
    this.#fds.delete(fd);
    return e;
  }

  /** Points the descriptors at or under a renamed path to its new place. */
  moved(fromGuest: string, fromHost: string, toGuest: string, toHost: string): void {
    for (const e of this.#fds.values()) {
      if (e.guest === undefined || e.host === undefined) continue;
      if (e.guest === fromGuest || e.guest.startsWith(`${fromGuest}/`)) {
        e.guest = toGuest + e.guest.slice(fromGuest.length);
        e.host = toHost + e.host.slice(fromHost.length);
      }
    }
  }

  /** Every open descriptor number, in order. */
  numbers(): number[] {
    return [...this.#fds.keys()].sort((a, b) => a - b);
  }
}
