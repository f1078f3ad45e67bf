/**
 * The directory work both drivers share: making a container's path in a hierarchy one level
 * at a time (recording in the record what denki made), and removing the container's
 * directories, the cgroups the container made inside them, and the parents denki made once
 * they are empty. Parents shared between containers are tracked in the book (parents.ts).
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { EBUSY, ENOENT } from "./driver.ts";
import type { CgroupIo } from "./io.ts";
import type { Hierarchy } from "./layout.ts";
import type { ParentBook } from "./parents.ts";
import { type CgroupRecord, mountOf } from "./record.ts";

/** A container's directories on cgroupfs, as far as making and removing them goes. */
export class CgroupTree {
  constructor(readonly rec: CgroupRecord, readonly io: CgroupIo) {}

  /**
   * Makes `path` in a hierarchy, one level at a time, returning the leaf; `level` runs for
   * every directory on the way (made now or not) with its parent.
   */
  mkdirs(h: Hierarchy, path: string, level?: (dir: string, parent: string) => void): string {
    const { mount, root } = h;
    // Seen through a cgroup namespace, the mount shows `root`; paths are taken below it.
    const rel = root !== "/" && path.startsWith(`${root}/`) ? path.slice(root.length) : path;
    // Another container's delete may remove a shared parent between two of these mkdirs.
    for (let attempt = 0;; attempt++) {
      try {
        const leaf = this.#mkdirChain(mount, rel, level);
        this.rec.mounts![leaf] = mount;
        return leaf;
      } catch (err) {
        if (attempt >= 3 || !(err instanceof SyscallError) || err.errno !== ENOENT) {
          throw new DenkiError(`cannot create cgroup ${mount}${rel}: ${(err as Error).message}`);
        }
      }
    }
  }

  #mkdirChain(
    mount: string,
    rel: string,
    level: ((dir: string, parent: string) => void) | undefined,
  ): string {
    let dir = mount;
    for (const part of rel.split("/").filter((p) => p !== "")) {
      const parent = dir;
      dir = `${dir}/${part}`;
      // Parents another container made are shared through the book (parents.ts).
      if (this.io.mkdir(dir) && !this.rec.created.includes(dir)) this.rec.created.push(dir);
      level?.(dir, parent);
    }
    return dir;
  }

  /**
   * rmdir of the cgroups below the leaves, the leaves, then the parents denki made (this or
   * another container); returns the leaves still busy.
   */
  removeDirs(leaves: readonly string[], book: ParentBook | undefined): string[] {
    const busy: string[] = [];
    const ancestors = leaves.flatMap((leaf) => this.#ancestors(leaf));
    const recorded = book?.claimed(ancestors) ?? [];
    // Cgroups the container made inside its own (a nested runtime, systemd) go first.
    const nested = leaves.flatMap((leaf) => this.#descendants(leaf));
    for (const dir of nested.sort((a, b) => b.split("/").length - a.split("/").length)) {
      this.io.rmdir(dir);
    }
    const order = [...new Set([...leaves, ...this.rec.created, ...recorded])];
    // Deepest first, so parents are empty by the time they come up.
    order.sort((a, b) => b.split("/").length - a.split("/").length);
    const gone: string[] = [];
    for (const dir of order) {
      const errno = this.io.rmdir(dir);
      if (errno === 0 || errno === ENOENT) {
        if (!leaves.includes(dir)) gone.push(dir);
        continue;
      }
      // A parent another container still uses is left to the last one out.
      if (!leaves.includes(dir)) continue;
      if (errno === EBUSY) busy.push(dir);
      else throw new DenkiError(`cannot remove cgroup ${dir}: errno ${errno}`);
    }
    book?.drop(gone);
    return busy;
  }

  /** Every cgroup below `dir`. */
  #descendants(dir: string): string[] {
    return this.io.children(dir).flatMap((
      c,
    ) => [`${dir}/${c}`, ...this.#descendants(`${dir}/${c}`)]);
  }

  /** The directories between a leaf and its hierarchy's mount point. */
  #ancestors(leaf: string): string[] {
    const mount = mountOf(this.rec, leaf);
    if (mount === undefined) return [];
    const parts = leaf.slice(mount.length).split("/").filter((p) => p !== "");
    const out: string[] = [];
    for (let i = 1; i < parts.length; i++) out.push(`${mount}/${parts.slice(0, i).join("/")}`);
    return out;
  }
}
