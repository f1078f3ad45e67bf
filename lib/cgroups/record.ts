/**
 * What state.json keeps about a container's cgroup, shared by both drivers: the v1 part
 * (a directory per controller), the v2 part (one directory in the unified hierarchy), and
 * the bookkeeping for removal. The format is stable: records written by older denki load.
 */

/** What is kept in state.json about a container's cgroup. */
export interface CgroupRecord {
  /**
   * The container's cgroup path, for messages: the one in the memory hierarchy (or the first
   * one made). Records written before `mounts` existed used this path in every hierarchy.
   */
  path: string;
  /** Each directory of the container (v1 and v2) to the mount point of its hierarchy. */
  mounts?: Record<string, string>;
  /** v1 controller to the container's directory in that hierarchy. */
  v1: Record<string, string>;
  /** The container's directory in the unified hierarchy. */
  v2?: string;
  /** Controllers handled through v2 (those the unified root offers and v1 does not have). */
  v2Controllers: string[];
  /** Directories denki made, parents before children. */
  created: string[];
}

/** The mount point of the hierarchy a container directory is in. */
export function mountOf(rec: CgroupRecord, dir: string): string | undefined {
  const mount = rec.mounts?.[dir];
  if (mount !== undefined) return mount;
  // Older records: the same path in every hierarchy.
  return dir.endsWith(rec.path) ? dir.slice(0, dir.length - rec.path.length) : undefined;
}
