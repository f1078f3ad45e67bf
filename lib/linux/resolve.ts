/**
 * Resolving paths inside a container root without ever leaving it. Existing components are
 * resolved by the kernel with openat2(RESOLVE_IN_ROOT), which treats the root fd as "/" for
 * absolute symlinks and "..". Missing components are created one at a time, relative to the
 * fd of their already-resolved parent, so a rootfs that plants `/etc -> /host/etc` or a
 * dangling absolute link cannot redirect a mount or a mkdir onto the host.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import * as sc from "../sys/syscalls.ts";

const MAX_LINKS = 40;

/** What to create when the final component is missing. */
export type CreateKind = "dir" | "file" | undefined;

/** Splits a container path into components, applying "." and ".." lexically, never above "/". */
export function components(path: string): string[] {
  const out: string[] = [];
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") out.pop();
    else out.push(p);
  }
  return out;
}

function openResolved(rootFd: number, parts: readonly string[]): { fd: number; errno: number } {
  return sc.tryOpenat2(
    rootFd,
    parts.length === 0 ? "." : parts.join("/"),
    sc.O_PATH | sc.O_CLOEXEC,
    sc.RESOLVE_IN_ROOT | sc.RESOLVE_NO_MAGICLINKS,
  );
}

/**
 * The deepest prefix of `parts` that resolves: an O_PATH fd of it (the caller closes) and the
 * index of the first component that does not, `parts.length` when all do.
 */
function deepestResolved(
  rootFd: number,
  parts: readonly string[],
): { fd: number; missing: number } | { errno: number } {
  let parent = openResolved(rootFd, []);
  if (parent.fd < 0) return { errno: parent.errno };
  let i = 0;
  for (; i < parts.length; i++) {
    const next = openResolved(rootFd, parts.slice(0, i + 1));
    if (next.fd < 0) break;
    sc.close(parent.fd);
    parent = next;
  }
  return { fd: parent.fd, missing: i };
}

/** `parts` with its component `i`, a symlink to `target`, replaced by what it points to. */
function followLink(parts: readonly string[], i: number, target: string): string[] {
  const base = target.startsWith("/") ? "" : parts.slice(0, i).join("/");
  return components([base, target, ...parts.slice(i + 1)].join("/"));
}

/**
 * Opens `path` inside the root (an O_PATH fd), creating what is missing when `create` says so:
 * directories for every missing parent, and the final component as a directory or an empty
 * file. Returns an O_PATH fd the caller closes; `/proc/self/fd/<fd>` names the same object.
 */
export function openInRoot(rootFd: number, path: string, create: CreateKind): number {
  let parts = components(path);
  let links = 0;
  for (;;) {
    const whole = openResolved(rootFd, parts);
    if (whole.fd >= 0) return whole.fd;
    if (whole.errno !== sc.Errno.ENOENT || create === undefined) {
      throw new SyscallError("openat2", path, whole.errno);
    }
    // Find the first missing component and make it, under its resolved parent.
    const parent = deepestResolved(rootFd, parts);
    if ("errno" in parent) throw new SyscallError("openat2", "/", parent.errno);
    const i = parent.missing;
    try {
      if (i === parts.length) continue; // appeared meanwhile
      const name = parts[i]!;
      const type = sc.fileType(parent.fd, name);
      if (type === sc.S_IFLNK) {
        // A dangling symlink: follow it ourselves, inside the root.
        if (++links > MAX_LINKS) throw new SyscallError("openat2", path, sc.Errno.ELOOP);
        parts = followLink(parts, i, sc.readlinkat(parent.fd, name) ?? "");
        continue;
      }
      if (type !== undefined) {
        // It exists but cannot be resolved through (a file in the middle of the path).
        throw new SyscallError("openat2", path, sc.Errno.ENOTDIR);
      }
      const last = i === parts.length - 1;
      if (last && create === "file") {
        const fd = sc.openat(
          parent.fd,
          name,
          sc.O_CREAT | sc.O_WRONLY | sc.O_NOFOLLOW | sc.O_CLOEXEC,
          0o644,
        );
        sc.close(fd);
      } else {
        sc.mkdirat(parent.fd, name, 0o755, true);
      }
    } finally {
      sc.close(parent.fd);
    }
  }
}

/**
 * The path `openInRoot(rootFd, path, create)` would walk as the root stands now: `path` with
 * each dangling symlink among its existing components replaced by its target (inside the
 * root). Makes nothing. The native init walks this path, so that a mount through a dangling
 * link lands where the Deno init would put it, inside the root.
 */
export function throughDanglingLinks(rootFd: number, path: string): string {
  let parts = components(path);
  for (let links = 0; links <= MAX_LINKS; links++) {
    const parent = deepestResolved(rootFd, parts);
    if ("errno" in parent) break;
    const i = parent.missing;
    try {
      if (i === parts.length || sc.fileType(parent.fd, parts[i]!) !== sc.S_IFLNK) break;
      parts = followLink(parts, i, sc.readlinkat(parent.fd, parts[i]!) ?? "");
    } finally {
      sc.close(parent.fd);
    }
  }
  return `/${parts.join("/")}`;
}

/** The /proc path that names an open fd of this process (a mount target that cannot move). */
export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** Opens the container root directory itself. */
export function openRoot(rootfs: string): number {
  try {
    return sc.open(rootfs, sc.O_PATH | sc.O_DIRECTORY | sc.O_CLOEXEC);
  } catch (err) {
    if (err instanceof SyscallError) {
      throw new DenkiError(
        `cannot open rootfs ${rootfs}: ${err.message.replace(/^\S+ "[^"]*": /, "")}`,
      );
    }
    throw err;
  }
}
