/**
 * Trusting the state root. denki acts as root on what it finds under `--root`: it kills the
 * pids, removes the cgroups and empties the directories recorded there, and loads the seccomp
 * programs cached there. So a root that another user can change is refused: it must belong
 * to the caller (or root) and be writable by nobody else, and so must every directory above
 * it (or be sticky, like /tmp). Below a trusted root, entries are opened relative to the root's fd and
 * never through a symbolic link.
 *
 * Raw system calls through the small lib/sys modules only (not syscalls.ts): `state` and `list`
 * load this.
 */
import { causeOf, DenkiError, SyscallError } from "../errors.ts";
import {
  AT_FDCWD,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  oDirectory,
  oNofollow,
  S_ISVTX,
} from "../plan/abi.ts";
import { describeErrno, Errno } from "../plan/errno.ts";
import { close } from "../sys/call.ts";
import { readlinkat, readToEnd, tryOpenat } from "../sys/file.ts";
import { type Stat, statAt } from "../sys/stat.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import { inInitialUserNamespace } from "../linux/rootless.ts";

export { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "../plan/abi.ts";
export { type Stat, statAt } from "../sys/stat.ts";
/** errno values callers branch on. */
export const { ENOENT, ENOTDIR, ELOOP } = Errno;

const O_DIRECTORY = oDirectory(Deno.build.arch);
const O_NOFOLLOW = oNofollow(Deno.build.arch);

/** Directory and file flags for entries under the root: never through a link. */
export const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
/** Regular files are opened non-blocking, so a planted fifo cannot hang the reader. */
export const FILE_FLAGS = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;

/** openat(2); the fd, or the errno. */
export function openAt(dirfd: number, path: string, flags: number): { fd: number; errno: number } {
  return tryOpenat(dirfd, path, flags);
}

/** close(2). */
export function closeFd(fd: number): void {
  close(fd);
}

/** The uid whose files denki trusts: its own (denki is never installed set-uid). */
export function callerUid(): number {
  return Deno.uid() ?? 0;
}

/**
 * Why an entry cannot be trusted: an owner other than the caller or root (root can change
 * anything anyway), or write permission for group or others. Undefined when it is fine.
 */
export function distrust(st: Pick<Stat, "mode" | "uid">, uid = callerUid()): string | undefined {
  if (st.uid !== uid && st.uid !== 0) {
    return `it belongs to uid ${st.uid}, not to the caller (uid ${uid}) or root`;
  }
  if ((st.mode & 0o022) !== 0) {
    return `it is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`;
  }
  return undefined;
}

/**
 * In a user namespace someone else made (rootless podman runs denki as its root), the owner
 * shown for files of ids it does not map (the host's root's /run, /tmp): the overflow uid.
 * Such directories above the root are taken as the host's root's; the namespace cannot tell
 * them from another unmapped user's (see README, Security). Undefined in the initial one.
 */
function unmappedOwner(): number | undefined {
  if (inInitialUserNamespace()) return undefined;
  const n = Number(readTextRaw("/proc/sys/kernel/overflowuid")?.trim() ?? "65534");
  return Number.isInteger(n) ? n : 65534;
}

/** The real path of an open fd, from /proc/self/fd; undefined without /proc. */
function realPathOf(fd: number): string | undefined {
  const path = readlinkat(AT_FDCWD, `/proc/self/fd/${fd}`);
  return path?.startsWith("/") ? path : undefined;
}

/**
 * Every directory above `path` must be root's or the caller's, and writable by nobody else
 * unless sticky: otherwise its owner or writers could swap the root for a directory of theirs.
 */
function checkAncestors(path: string, uid: number): string | undefined {
  const parts = path.split("/").filter((p) => p !== "");
  const hostRoot = unmappedOwner();
  for (let i = 0; i < parts.length; i++) {
    const dir = "/" + parts.slice(0, i).join("/");
    const st = statAt(AT_FDCWD, dir);
    if (st === undefined) continue;
    if (st.uid !== 0 && st.uid !== uid && st.uid !== hostRoot) {
      return `${dir} above it belongs to uid ${st.uid}`;
    }
    if ((st.mode & 0o022) !== 0 && (st.mode & S_ISVTX) === 0) {
      return `${dir} above it is writable by group or others (mode ${
        (st.mode & 0o7777).toString(8)
      }) and not sticky`;
    }
  }
  return undefined;
}

/**
 * Opens the state root (made first, mode 0700, when `create`) and checks that it can be
 * trusted; undefined when it does not exist and `create` is false.
 */
export function openStateRoot(path: string, create: boolean): number | undefined {
  if (create) {
    try {
      Deno.mkdirSync(path, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new DenkiError(`cannot create state root ${path}: ${causeOf(err)}`);
    }
  }
  const r = openAt(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (r.fd < 0) {
    if (!create && r.errno === ENOENT) return undefined;
    throw new DenkiError(
      `cannot open state root ${path}: ${describeErrno(r.errno)}`,
    );
  }
  const uid = callerUid();
  const real = realPathOf(r.fd) ?? path;
  const st = statAt(r.fd);
  const why = real === "/"
    ? "it is the file system root"
    : st === undefined
    ? "it cannot be examined"
    : distrust(st, uid) ?? checkAncestors(real, uid);
  if (why !== undefined) {
    closeFd(r.fd);
    throw new DenkiError(`refusing state root ${path}: ${why}`);
  }
  return r.fd;
}

/** Reads a whole open file. */
export function readAll(fd: number, what: string): Uint8Array {
  try {
    return readToEnd(fd, what);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    throw new DenkiError(`cannot read ${what}: ${describeErrno(err.errno)}`);
  }
}
