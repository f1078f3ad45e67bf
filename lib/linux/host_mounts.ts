/**
 * Mounts in the host's table. A container without a mount namespace of its own gets its
 * mounts (proc, /dev, the config's) made in the host's mount namespace under its rootfs; they
 * stay there until `delete`, as under runc. denki writes each one down before and after it
 * makes it (`MountBook`, in the init; `create` keeps the list in the container's state), and
 * `undoHostMounts` removes exactly those: each is reached through an fd opened inside the
 * rootfs, checked to still be the mount denki made (its mount ID), and unmounted through that
 * fd, so a container that swaps a mount point for a symlink cannot point the unmount elsewhere.
 */
import { DenkiError } from "../errors.ts";
import { MNT_DETACH } from "../plan/abi.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import * as sc from "../sys/syscalls.ts";
import { mountIdOf } from "../sys/stat.ts";
import type { MountMessage } from "../sync/messages.ts";

/** A mount denki made in the host's mount table for a container without a mount namespace. */
export interface HostMount {
  /** Where it is, as a path in the container's root ("/proc"). */
  point: string;
  /** Its mount ID, as /proc/self/mountinfo shows it. */
  id: number;
  /** The mount it sits on (mountinfo's parent ID). */
  parent: number;
  /** Its STATX_MNT_ID_UNIQUE (never reused; Linux 6.8+), as a decimal string. */
  unique?: string;
}

/**
 * A mount about to be made, recorded before the mount call: if `create` dies before it learns
 * what was made, the undo looks at `point` for a mount sitting on `over`.
 */
export interface PendingMount {
  point: string;
  /** The mount ID holding `point` (or its deepest existing ancestor) before the call. */
  over: number;
}

/**
 * The mounts below mount `top` in the table (the submounts a step made with it: cgroup
 * hierarchies under their tmpfs, a recursive bind's copies), parents before children, as
 * paths in the root whose path the table's reader sees as `rootPath` (pure).
 */
export function mountsBelow(
  top: number,
  rootPath: string,
  table: ReadonlyMap<number, MountEntry>,
): HostMount[] {
  const out: HostMount[] = [];
  const entries = [...table.values()].sort((a, b) => a.id - b.id);
  const walk = (parent: number) => {
    for (const e of entries) {
      if (e.parent !== parent || e.id === parent) continue;
      const point = insideRoot(rootPath, e.point);
      if (point === undefined) continue;
      out.push({ point, id: e.id, parent: e.parent });
      walk(e.id);
    }
  };
  walk(top);
  return out;
}

/** The mount IDs of an open file's mount. */
export interface MountIds {
  id: number;
  unique?: string;
}

/** One line of /proc/self/mountinfo: what denki needs of it. */
export interface MountEntry {
  id: number;
  parent: number;
  /** The mount point, unescaped, as the reader's root sees it. */
  point: string;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses mountinfo text into entries by mount ID (pure). */
export function parseMountinfo(text: string): Map<number, MountEntry> {
  const out = new Map<number, MountEntry>();
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 5) continue;
    const id = Number(f[0]);
    const parent = Number(f[1]);
    if (!Number.isSafeInteger(id) || !Number.isSafeInteger(parent)) continue;
    out.set(id, { id, parent, point: unescape(f[4]!) });
  }
  return out;
}

/** `hostPath` as a path in the root at `rootfs`, or undefined when it is outside (pure). */
export function insideRoot(rootfs: string, hostPath: string): string | undefined {
  if (hostPath === rootfs) return "/";
  const prefix = rootfs === "/" ? "/" : `${rootfs}/`;
  return hostPath.startsWith(prefix) ? `/${hostPath.slice(prefix.length)}` : undefined;
}

/**
 * Whether the mount seen at a recorded mount's place is that mount (pure): the unique ID when
 * both have one; else the same mount ID with the same parent, in the current table.
 */
export function isRecorded(
  rec: HostMount,
  seen: MountIds,
  table: ReadonlyMap<number, MountEntry>,
): boolean {
  if (rec.unique !== undefined && seen.unique !== undefined) return rec.unique === seen.unique;
  return seen.id === rec.id && table.get(seen.id)?.parent === rec.parent;
}

/**
 * Whether the mount seen at a pending mount's point was made by that step (pure): a mount
 * other than the one the point was on, sitting right on it.
 */
export function madeByPending(
  p: PendingMount,
  seen: MountIds,
  table: ReadonlyMap<number, MountEntry>,
): boolean {
  return seen.id !== p.over && table.get(seen.id)?.parent === p.over;
}

/**
 * The paths to look for a recorded mount at, in the root (pure): where it was made, and where
 * the host's table says it is now (the container may have renamed a directory above it).
 */
export function placesOf(
  rec: HostMount,
  rootfs: string,
  table: ReadonlyMap<number, MountEntry>,
): string[] {
  const out = [rec.point];
  const now = table.get(rec.id);
  const inside = now === undefined ? undefined : insideRoot(rootfs, now.point);
  if (inside !== undefined && inside !== rec.point) out.push(inside);
  return out;
}

/** The mount IDs of the mount an fd is on (statx STATX_MNT_ID, and the unique one if any). */
export function mountIdsOf(fd: number): MountIds {
  const id = mountIdOf(fd, false);
  if (id === undefined) {
    throw new DenkiError("statx: this kernel does not report mount IDs (Linux 5.8 or later)");
  }
  const unique = mountIdOf(fd, true);
  return { id: Number(id), ...(unique === undefined ? {} : { unique: String(unique) }) };
}

/** Opens `path` inside the root without creating anything (O_PATH); undefined when missing. */
function openInside(rootFd: number, path: string): number | undefined {
  const r = sc.tryOpenat2(
    rootFd,
    path === "/" ? "." : path.replace(/^\/+/, ""),
    sc.O_PATH | sc.O_CLOEXEC,
    sc.RESOLVE_IN_ROOT | sc.RESOLVE_NO_MAGICLINKS,
  );
  return r.fd >= 0 ? r.fd : undefined;
}

/** The deepest existing ancestor of `path` (or itself), opened inside the root. */
function openDeepest(rootFd: number, path: string): number {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  for (let n = parts.length; n >= 0; n--) {
    const fd = openInside(rootFd, `/${parts.slice(0, n).join("/")}`);
    if (fd !== undefined) return fd;
  }
  throw new DenkiError(`cannot open the container's root to record a mount on ${path}`);
}

function mountTable(): Map<number, MountEntry> {
  return parseMountinfo(readTextRaw("/proc/thread-self/mountinfo") ?? "");
}

/**
 * The init's side: every step that may mount runs through `around`, which has `create` record
 * the step (its points) before it runs; what it left mounted is sent along with the next
 * step's record, or by `flush`. Until then the pending record covers it: a mount on a pending
 * point sitting on what the point was on. The book keeps its own fd of the rootfs, which stays
 * valid (and "/"-rooted for openat2) across the chroot.
 */
export class MountBook {
  readonly #root: number;
  #chrooted = false;
  #unsent: HostMount[] = [];

  /** `report` sends a "mount" message, which `create` records and answers with "ok". */
  constructor(rootfs: string, readonly report: (msg: MountMessage) => void) {
    try {
      this.#root = sc.open(rootfs, sc.O_PATH | sc.O_DIRECTORY | sc.O_CLOEXEC);
    } catch (err) {
      throw new DenkiError(`cannot open rootfs ${rootfs}: ${(err as Error).message}`);
    }
  }

  /**
   * Says the init is now chrooted into the rootfs. From here on /proc is whatever the rootfs
   * holds there, so the host's table is no longer read: only the mount on a step's point is
   * recorded (the terminal's bind on /dev/console, which has no submounts).
   */
  chrooted(): void {
    this.#chrooted = true;
  }

  /** Runs `fn`, which may mount on any of `points`; what it leaves mounted there is recorded. */
  around<T>(points: readonly string[], fn: () => T): T {
    const pending = points.map((point) => {
      const before = openDeepest(this.#root, point);
      try {
        return { point, over: mountIdsOf(before).id };
      } finally {
        sc.close(before);
      }
    });
    this.report({ type: "mount", made: this.#unsent, pending });
    this.#unsent = [];
    let out: T;
    try {
      out = fn();
    } catch (err) {
      // A step that failed halfway may still have mounted: that is recorded too. A failure
      // to record it leaves the original error (and the pending record) to speak.
      try {
        for (const p of pending) this.#unsent.push(...this.#madeAt(p.point, p.over));
        this.flush();
      } catch {
        // the pending record still covers it
      }
      throw err;
    }
    for (const p of pending) this.#unsent.push(...this.#madeAt(p.point, p.over));
    return out;
  }

  /** Sends what the last step made, and clears the pending record. */
  flush(): void {
    this.report({ type: "mount", made: this.#unsent, pending: [] });
    this.#unsent = [];
  }

  #madeAt(point: string, over: number): HostMount[] {
    const fd = openInside(this.#root, point);
    if (fd === undefined) return [];
    let seen: MountIds;
    try {
      seen = mountIdsOf(fd);
    } finally {
      sc.close(fd);
    }
    if (seen.id === over) return [];
    const top = (parent: number): HostMount => ({
      point,
      id: seen.id,
      parent,
      ...(seen.unique ? { unique: seen.unique } : {}),
    });
    // Mounted on the point, the new mount's parent is the mount the point was on.
    if (this.#chrooted) return [top(over)];
    const table = mountTable();
    // The rootfs as the host's table names it (its real path).
    const rootPath = sc.readlinkat(sc.AT_FDCWD, `/proc/thread-self/fd/${this.#root}`) ?? "/";
    const below = mountsBelow(seen.id, rootPath, table).map((m) => this.#withUnique(m));
    return [top(table.get(seen.id)?.parent ?? over), ...below];
  }

  /** Adds the unique ID of a mount found in the table, when its place still shows it. */
  #withUnique(m: HostMount): HostMount {
    const fd = openInside(this.#root, m.point);
    if (fd === undefined) return m;
    try {
      const seen = mountIdsOf(fd);
      return seen.id === m.id && seen.unique ? { ...m, unique: seen.unique } : m;
    } finally {
      sc.close(fd);
    }
  }

  /** Closes the book's fd of the rootfs. */
  close(): void {
    sc.close(this.#root);
  }
}

/** Unmounts the mount an fd is on (its root), by the fd's /proc name, never by a path. */
function detach(fd: number): void {
  sc.umount2(`/proc/self/fd/${fd}`, MNT_DETACH);
}

/**
 * Removes the mounts denki made for a container in the host's table: those of the pending step
 * first (made last), then the recorded ones newest first, each only while it is still the mount
 * denki made. Mounts that are gone are fine; ones that moved out of reach or were replaced
 * are left in place with a warning. A failed unmount is an error (after trying the others).
 */
export function undoHostMounts(
  rootfs: string,
  mounts: readonly HostMount[],
  pending: readonly PendingMount[],
  warn: (message: string) => void,
): void {
  if (mounts.length === 0 && pending.length === 0) return;
  let root: number;
  try {
    root = sc.open(rootfs, sc.O_PATH | sc.O_DIRECTORY | sc.O_NOFOLLOW | sc.O_CLOEXEC);
  } catch (err) {
    warn(`cannot open rootfs ${rootfs} (${(err as Error).message}): its mounts are left in place`);
    return;
  }
  const failures: string[] = [];
  try {
    // Paths in the host's table are real paths: the rootfs's own, as the kernel names it.
    const real = sc.readlinkat(sc.AT_FDCWD, `/proc/self/fd/${root}`) ?? rootfs;
    const tryUnmount = (path: string, ours: (seen: MountIds) => boolean): boolean => {
      const fd = openInside(root, path);
      if (fd === undefined) return false;
      try {
        if (!ours(mountIdsOf(fd))) return false;
        try {
          detach(fd);
        } catch (err) {
          failures.push(`cannot unmount ${path} in ${rootfs}: ${(err as Error).message}`);
        }
        return true;
      } finally {
        sc.close(fd);
      }
    };
    for (const p of [...pending].reverse()) {
      const table = mountTable();
      tryUnmount(p.point, (seen) => madeByPending(p, seen, table));
    }
    for (const rec of [...mounts].reverse()) {
      const table = mountTable();
      const done = placesOf(rec, real, table).some((path) =>
        tryUnmount(path, (seen) => isRecorded(rec, seen, table))
      );
      // Still in the table under the rootfs, yet not reachable as itself (covered, or its
      // place replaced): left in place, and said so. Not there at all: already gone.
      const now = table.get(rec.id);
      if (!done && now?.parent === rec.parent && insideRoot(real, now.point) !== undefined) {
        warn(
          `mount ${rec.id} on ${rec.point} in ${rootfs} is no longer reachable as the mount denki made: left in place`,
        );
      }
    }
  } finally {
    sc.close(root);
  }
  if (failures.length > 0) {
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : "";
    throw new DenkiError(`${failures[0]}${more}`);
  }
}
