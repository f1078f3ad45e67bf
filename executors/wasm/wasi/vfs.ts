/**
 * The guest's file system: mounts (guest path prefix -> host directory) and path resolution.
 * Resolution walks the guest path one component at a time and reads symlinks itself, so no
 * `..`, absolute symlink or symlink chain leaves the directory a path is relative to. Every
 * intermediate location must stay inside that base (else ENOTCAPABLE); an absolute symlink
 * restarts at the guest root, which only a base at the root contains.
 */
import { errnoOf, WasiError } from "./errno.ts";
import { E } from "./types.ts";

/** A host directory visible to the guest at `guest`. */
export interface Mount {
  guest: string;
  host: string;
  readonly: boolean;
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
    // Longest guest prefix first, so the innermost mount wins.
    this.mounts = [...mounts].sort((a, b) => b.guest.length - a.guest.length);
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
   * Resolves `path` relative to the directory at guest path `base`. `follow`: follow a symlink
   * in the last component. `allowMissing`: a missing last component is returned (for create).
   * A trailing slash requires a directory (and follows a final symlink).
   */
  resolve(base: string, path: string, follow: boolean, allowMissing = false): Resolved {
    if (path === "") throw new WasiError(E.NOENT);
    if (path.startsWith("/")) throw new WasiError(E.NOTCAPABLE);
    // "x/" and "x/." both name the directory x: its final symlink is followed.
    const trailingSlash = path.endsWith("/") || (path.endsWith("/.") && path !== "/.");
    const baseStack = parts(base);
    let stack = [...baseStack];
    let pending = parts(path);
    let mapped = this.map(stack);
    let stat: Deno.FileInfo | undefined = pending.length === 0 ? lstat(mapped.host) : undefined;
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

  /** Splits a path into its parent (resolved, must exist) and final name (not resolved). */
  parent(base: string, path: string): { dir: Resolved; name: string } {
    if (path === "") throw new WasiError(E.NOENT);
    if (path.startsWith("/")) throw new WasiError(E.NOTCAPABLE);
    const trimmed = path.replace(/\/+$/, "");
    const i = trimmed.lastIndexOf("/");
    const dirPart = i === -1 ? "." : trimmed.slice(0, i) || ".";
    const name = i === -1 ? trimmed : trimmed.slice(i + 1);
    if (name === "" || name === "." || name === "..") {
      // "a/.." or "." cannot be created, removed or renamed.
      if (name === "..") {
        // Still report escapes as such.
        this.resolve(base, trimmed, false);
      }
      throw new WasiError(name === "" ? E.NOENT : E.INVAL);
    }
    const dir = this.resolve(base, dirPart, true);
    if (dir.stat === undefined) throw new WasiError(E.NOENT);
    if (!dir.stat.isDirectory) throw new WasiError(E.NOTDIR);
    return { dir, name };
  }
}
