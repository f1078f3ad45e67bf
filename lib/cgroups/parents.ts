/**
 * The parent cgroups denki made, kept per state root. The container that made a parent may
 * be deleted while others still use it; whichever container leaves it empty removes it, so
 * no empty directory is left behind, and parents denki did not make are never touched.
 * The names carry "@", which container ids cannot, so they never clash with a container.
 */
import { DenkiError } from "../errors.ts";
import { describeErrno } from "../plan/errno.ts";
import {
  closeFd,
  distrust,
  ENOENT,
  FILE_FLAGS,
  openAt,
  openStateRoot,
  readAll,
  S_IFMT,
  S_IFREG,
  statAt,
} from "../state/trust.ts";
import * as sc from "../sys/syscalls.ts";

/** The book of parents: shared by every container under one state root. */
export interface ParentBook {
  /** Records parents this container made. */
  add(dirs: readonly string[]): void;
  /** Which of `dirs` are recorded. */
  claimed(dirs: readonly string[]): string[];
  /** Forgets parents that are gone. */
  drop(dirs: readonly string[]): void;
}

/** The book kept in `<root>/@cgroup-parents` (gone while empty), changed under the root's flock. */
export class FileParentBook implements ParentBook {
  constructor(readonly root: string) {}

  #update<T>(fn: (dirs: Set<string>) => T): T {
    const name = "@cgroup-parents";
    const file = `${this.root}/${name}`;
    // The state root's own fd, checked like every use of it, and its lock (claim takes it
    // too, briefly): no extra file to leave.
    const fd = openStateRoot(this.root, true)!;
    try {
      sc.flockExclusive(fd, true, this.root);
      const dirs = new Set(this.#read(fd, file, name).split("\n").filter((l) => l.startsWith("/")));
      const before = [...dirs].join("\n");
      const result = fn(dirs);
      const after = [...dirs].join("\n");
      if (after !== before) {
        if (after === "") {
          Deno.removeSync(file);
        } else {
          Deno.writeTextFileSync(`${file}.tmp`, after + "\n", { mode: 0o600 });
          Deno.renameSync(`${file}.tmp`, file);
        }
      }
      return result;
    } finally {
      sc.close(fd);
    }
  }

  /** The book's text: "" when there is none; refused when someone else could have written it. */
  #read(rootFd: number, file: string, name: string): string {
    const r = openAt(rootFd, name, FILE_FLAGS);
    if (r.fd < 0) {
      if (r.errno === ENOENT) return "";
      throw new DenkiError(`cannot read ${file}: ${describeErrno(r.errno)}`);
    }
    try {
      const st = statAt(r.fd);
      const why = st === undefined
        ? "it cannot be examined"
        : (st.mode & S_IFMT) !== S_IFREG
        ? "it is not a regular file"
        : distrust(st);
      // Its directories are removed when empty: a forged list would aim that at others'.
      if (why !== undefined) throw new DenkiError(`refusing ${file}: ${why}`);
      return new TextDecoder().decode(readAll(r.fd, file));
    } finally {
      closeFd(r.fd);
    }
  }

  add(dirs: readonly string[]): void {
    if (dirs.length > 0) this.#update((set) => dirs.forEach((d) => set.add(d)));
  }
  claimed(dirs: readonly string[]): string[] {
    return this.#update((set) => dirs.filter((d) => set.has(d)));
  }
  drop(dirs: readonly string[]): void {
    if (dirs.length > 0) this.#update((set) => dirs.forEach((d) => set.delete(d)));
  }
}

/** An in-memory book for unit tests. */
export class MemoryParentBook implements ParentBook {
  readonly dirs = new Set<string>();
  add(dirs: readonly string[]): void {
    dirs.forEach((d) => this.dirs.add(d));
  }
  claimed(dirs: readonly string[]): string[] {
    return dirs.filter((d) => this.dirs.has(d));
  }
  drop(dirs: readonly string[]): void {
    dirs.forEach((d) => this.dirs.delete(d));
  }
}
