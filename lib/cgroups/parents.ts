/**
 * The parent cgroups denki made, kept per state root. The container that made a parent may
 * be deleted while others still use it; whichever container leaves it empty removes it, so
 * no empty directory is left behind, and parents denki did not make are never touched.
 * The names carry "@", which container ids cannot, so they never clash with a container.
 */
import { causeOf, DenkiError } from "../errors.ts";
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
    const file = `${this.root}/@cgroup-parents`;
    let fd: number;
    try {
      Deno.mkdirSync(this.root, { recursive: true, mode: 0o711 });
      // The state root's own lock (claim takes it too, briefly): no extra file to leave.
      fd = sc.open(this.root, sc.O_RDONLY | sc.O_DIRECTORY | sc.O_CLOEXEC);
    } catch (err) {
      throw new DenkiError(`cannot open state root ${this.root}: ${causeOf(err)}`);
    }
    try {
      sc.flockExclusive(fd, true, this.root);
      let text = "";
      try {
        text = Deno.readTextFileSync(file);
      } catch {
        // no parents recorded yet
      }
      const dirs = new Set(text.split("\n").filter((l) => l.startsWith("/")));
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
