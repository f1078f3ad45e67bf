/**
 * The guest's file system: mounts (guest path prefix -> host directory) and path resolution.
 * Resolution walks the guest path one component at a time and reads symlinks itself, so no
 * `..`, absolute symlink or symlink chain leaves the directory a path is relative to. Every
 * intermediate location must stay inside that base (else ENOTCAPABLE); an absolute symlink
 * restarts at the guest root, which only a base at the root contains.
 *
 * The base itself is never taken on trust: a directory descriptor remembers a guest path and
 * the inode it was opened on, and each use walks that path again from its mount's root with
 * lstat (a symlink anywhere is not followed but refused) and checks it still ends at that
 * inode. Otherwise a guest could open a directory, replace its name with a symlink to a host
 * path, and reach the host through the old descriptor.
 */
import { errnoOf, WasiError } from "./errno.ts";
import { E } from "./types.ts";

/** A host directory visible to the guest at `guest`. */
export interface Mount {
  guest: string;
  host: string;
  readonly: boolean;
}

/** A directory descriptor's hold on its directory: guest path and the inode it was opened on. */
export interface DirRef {
  guest: string;
  dev: number;
  ino: number;
}

/** A verified base directory: its components, host path, mount and lstat. */
export interface Located {
  stack: string[];
  host: string;
  mount: Mount;
  stat: Deno.FileInfo;
}

/** A resolved guest path: where it is on the host and what is there (undefined: missing). */
export interface Resolved {
  guest: string;
  host: string;
  mount: Mount;
  /** lstat of the final component (after following, if asked). */
  stat: Deno.FileInfo | undefined;
}

const MAX_LINKS = 40;

function parts(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

/** The guest path for a component stack. */
export function guestPath(stack: readonly string[]): string {
  return "/" + stack.join("/");
}

function canonical(host: string): string {
  try {
    return Deno.realPathSync(host);
  } catch {
    return host;
  }
}

function lstat(host: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(host);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new WasiError(errnoOf(err));
  }
}

/** The mount table and resolver. */
export class Vfs {
  readonly mounts: Mount[];

  constructor(mounts: Mount[]) {
    // Longest guest prefix first, so the innermost mount wins. Host directories are taken
    // canonical, so walks from them can refuse every symlink they meet.
    this.mounts = mounts.map((m) => ({ ...m, host: canonical(m.host) }))
      .sort((a, b) => b.guest.length - a.guest.length);
    if (!this.mounts.some((m) => m.guest === "/")) throw new Error("a root mount is required");
  }

  /** The mount holding a guest path, and the host path it maps to. */
  map(stack: readonly string[]): { host: string; mount: Mount } {
    const guest = guestPath(stack);
    for (const m of this.mounts) {
      if (m.guest === "/") {
        return { host: guest === "/" ? m.host : `${m.host.replace(/\/$/, "")}${guest}`, mount: m };
      }
      if (guest === m.guest || guest.startsWith(`${m.guest}/`)) {
        return { host: m.host + guest.slice(m.guest.length), mount: m };
      }
    }
    throw new Error("unreachable: no root mount");
  }

  /**
   * True when nothing at or under guest path `guest` is writable: its mount is read-only and
   * no writable mount sits below it. Such a directory is handed out without write rights.
   */
  readonlyTree(guest: string, mount: Mount): boolean {
    if (!mount.readonly) return false;
    const prefix = guest === "/" ? "/" : `${guest}/`;
    return !this.mounts.some((m) => !m.readonly && m.guest.startsWith(prefix));
  }

  /**
   * Walks to a base directory from its mount's root without following anything: every
   * component must be a directory (not a symlink), and with a DirRef the last one must be the
   * inode the descriptor was opened on. A base that is gone, is no longer a directory or was
   * replaced is ENOENT, as Linux answers for a descriptor of a removed directory.
   */
  locate(base: string | DirRef): Located {
    const stack = parts(typeof base === "string" ? base : base.guest);
    let mapped = this.map([]);
    let st = lstat(mapped.host);
    for (let i = 0;; i++) {
      if (st === undefined || !st.isDirectory) throw new WasiError(E.NOENT);
      if (i === stack.length) break;
      mapped = this.map(stack.slice(0, i + 1));
      st = lstat(mapped.host);
    }
    if (typeof base !== "string" && (st.dev !== base.dev || st.ino !== base.ino)) {
      throw new WasiError(E.NOENT);
    }
    return { stack, host: mapped.host, mount: mapped.mount, stat: st };
  }

  /**
   * Resolves `path` relative to the directory `base` (a guest path, or a descriptor's DirRef,
   * checked by `locate`). `follow`: follow a symlink in the last component. `allowMissing`: a
   * missing last component is returned (for create). A trailing slash requires a directory
   * (and follows a final symlink).
   */
  resolve(base: string | DirRef, path: string, follow: boolean, allowMissing = false): Resolved {
    if (path === "") throw new WasiError(E.NOENT);
    if (path.startsWith("/")) throw new WasiError(E.NOTCAPABLE);
    // "x/" and "x/." both name the directory x: its final symlink is followed.
    const trailingSlash = path.endsWith("/") || (path.endsWith("/.") && path !== "/.");
    const start = this.locate(base);
    const baseStack = start.stack;
    let stack = [...baseStack];
    let pending = parts(path);
    let mapped: { host: string; mount: Mount } = start;
    let stat: Deno.FileInfo | undefined = start.stat;
    let links = 0;
    while (pending.length > 0) {
      const name = pending.shift()!;
      const last = pending.length === 0;
      if (name === "..") {
        // Leaving the base, even for a moment, is an escape.
        if (stack.length <= baseStack.length) throw new WasiError(E.NOTCAPABLE);
        stack = stack.slice(0, -1);
        mapped = this.map(stack);
        stat = lstat(mapped.host);
        continue;
      }
      const candidate = [...stack, name];
      const m = this.map(candidate);
      const st = lstat(m.host);
      if (st === undefined) {
        if (last && allowMissing) {
          return { guest: guestPath(candidate), host: m.host, mount: m.mount, stat: undefined };
        }
        throw new WasiError(E.NOENT);
      }
      if (st.isSymlink && (!last || follow || trailingSlash)) {
        if (++links > MAX_LINKS) throw new WasiError(E.LOOP);
        let target: string;
        try {
          target = Deno.readLinkSync(m.host);
        } catch (err) {
          throw new WasiError(errnoOf(err));
        }
        if (target.startsWith("/")) {
          // An absolute link means the guest root: only a base at the root contains it.
          if (baseStack.length > 0) throw new WasiError(E.NOTCAPABLE);
          stack = [];
        }
        pending = [...parts(target), ...pending];
        mapped = this.map(stack);
        stat = lstat(mapped.host);
        continue;
      }
      if (!last && !st.isDirectory) throw new WasiError(E.NOTDIR);
      stack = candidate;
      mapped = m;
      stat = st;
    }
    if (trailingSlash && stat !== undefined && !stat.isDirectory) throw new WasiError(E.NOTDIR);
    return { guest: guestPath(stack), host: mapped.host, mount: mapped.mount, stat };
  }

  /** Where the entry `name` inside a resolved directory is (not resolved any further). */
  child(
    dir: Resolved,
    name: string,
  ): { guest: string; host: string; mount: Mount; stat: Deno.FileInfo | undefined } {
    const stack = [...parts(dir.guest), name];
    const m = this.map(stack);
    return { guest: guestPath(stack), host: m.host, mount: m.mount, stat: lstat(m.host) };
  }

  /** True when a guest path is where a mount is attached (it cannot be removed or renamed). */
  isMountPoint(guest: string): boolean {
    return guest !== "/" && this.mounts.some((m) => m.guest === guest);
  }

  /** Mount points directly inside a guest directory, for fd_readdir. */
  mountsIn(guestDir: string): string[] {
    const prefix = guestDir === "/" ? "/" : `${guestDir}/`;
    return this.mounts
      .filter((m) =>
        m.guest !== "/" && m.guest.startsWith(prefix) && !m.guest.slice(prefix.length).includes("/")
      )
      .map((m) => m.guest.slice(prefix.length));
  }

  /**
   * Splits a path into its parent directory (resolved, must exist) and its final name (not
   * resolved), for the calls that create, remove or rename a name; `slash` says the path ended
   * in "/". A final "." or ".." names no entry of its own: once the whole path resolves (so
   * escapes and missing directories answer as such) the call fails with `dots[0]` for "."
   * and `dots[1]` for "..", the errno Linux's *at call gives.
   */
  parent(
    base: string | DirRef,
    path: string,
    dots: readonly [number, number],
  ): { dir: Resolved; name: string; slash: boolean } {
    if (path === "") throw new WasiError(E.NOENT);
    if (path.startsWith("/")) throw new WasiError(E.NOTCAPABLE);
    const trimmed = path.replace(/\/+$/, "");
    const i = trimmed.lastIndexOf("/");
    const name = i === -1 ? trimmed : trimmed.slice(i + 1);
    if (name === "." || name === "..") {
      this.resolve(base, trimmed, true);
      throw new WasiError(name === "." ? dots[0] : dots[1]);
    }
    const dir = this.resolve(base, i === -1 ? "." : trimmed.slice(0, i) || ".", true);
    if (dir.stat === undefined) throw new WasiError(E.NOENT);
    if (!dir.stat.isDirectory) throw new WasiError(E.NOTDIR);
    return { dir, name, slash: trimmed.length < path.length };
  }
}
