/**
 * Trusting the state root. denki acts as root on what it finds under `--root`: it kills the
 * pids, removes the cgroups and empties the directories recorded there, and loads the seccomp
 * programs cached there. So a root that another user can change is refused: it must belong
 * to the caller (or root) and be writable by nobody else, and so must every directory above
 * it (or be sticky, like /tmp). Below a trusted root, entries are opened relative to the root's fd and
 * never through a symbolic link.
 *
 * Raw system calls through libc.ts only (not syscalls.ts): `state` and `list` load this.
 */
import { causeOf, DenkiError } from "../errors.ts";
import { describeErrno } from "../plan/errno.ts";
import { cString, syscall } from "../sys/libc.ts";

const ARM64 = Deno.build.arch === "aarch64";
const AT_FDCWD = -100;
const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_DIRECTORY = ARM64 ? 0o40000 : 0o200000;
const O_NOFOLLOW = ARM64 ? 0o100000 : 0o400000;
const O_CLOEXEC = 0o2000000;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const EINTR = 4;

/** errno values callers branch on. */
export const ENOENT = 2;
export const ENOTDIR = 20;
export const ELOOP = 40;

/** File type bits. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
const S_ISVTX = 0o1000;

/** Directory and file flags for entries under the root: never through a link. */
export const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
/** Regular files are opened non-blocking, so a planted fifo cannot hang the reader. */
export const FILE_FLAGS = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;

/** The parts of stat(2) the checks need. */
export interface Stat {
  mode: number;
  uid: number;
}

/** openat(2); the fd, or the errno. */
export function openAt(dirfd: number, path: string, flags: number): { fd: number; errno: number } {
  const p = cString(path);
  for (;;) {
    const r = syscall("openat", dirfd, p, flags, 0);
    if (r.ret >= 0n) return { fd: Number(r.ret), errno: 0 };
    if (r.errno !== EINTR) return { fd: -1, errno: r.errno };
  }
}

/** close(2). */
export function closeFd(fd: number): void {
  syscall("close", fd);
}

/** stat of an open fd (`path` ""), or lstat of `path` relative to `dirfd`; undefined if missing. */
export function statAt(dirfd: number, path = ""): Stat | undefined {
  const st = new Uint8Array(256);
  const flags = AT_SYMLINK_NOFOLLOW | (path === "" ? AT_EMPTY_PATH : 0);
  const r = syscall("newfstatat", dirfd, cString(path), st, flags);
  if (r.ret < 0n) return undefined;
  const v = new DataView(st.buffer);
  // struct stat: x86_64 has a 64-bit nlink before mode; aarch64 a 32-bit one after it.
  return ARM64
    ? { mode: v.getUint32(16, true), uid: v.getUint32(24, true) }
    : { mode: v.getUint32(24, true), uid: v.getUint32(28, true) };
}

/** The uid whose files denki trusts: its own (denki is never installed set-uid). */
export function callerUid(): number {
  return Deno.uid() ?? 0;
}

/**
 * Why an entry cannot be trusted: an owner other than the caller or root (root can change
 * anything anyway), or write permission for group or others. Undefined when it is fine.
 */
export function distrust(st: Stat, uid = callerUid()): string | undefined {
  if (st.uid !== uid && st.uid !== 0) {
    return `it belongs to uid ${st.uid}, not to the caller (uid ${uid}) or root`;
  }
  if ((st.mode & 0o022) !== 0) {
    return `it is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`;
  }
  return undefined;
}

/** The real path of an open fd, from /proc/self/fd; undefined without /proc. */
function realPathOf(fd: number): string | undefined {
  const buf = new Uint8Array(4096);
  const r = syscall("readlinkat", AT_FDCWD, cString(`/proc/self/fd/${fd}`), buf, buf.length);
  if (r.ret < 0n) return undefined;
  const path = new TextDecoder().decode(buf.subarray(0, Number(r.ret)));
  return path.startsWith("/") ? path : undefined;
}

/**
 * Every directory above `path` must be root's or the caller's, and writable by nobody else
 * unless sticky: otherwise its owner or writers could swap the root for a directory of theirs.
 */
function checkAncestors(path: string, uid: number): string | undefined {
  const parts = path.split("/").filter((p) => p !== "");
  for (let i = 0; i < parts.length; i++) {
    const dir = "/" + parts.slice(0, i).join("/");
    const st = statAt(AT_FDCWD, dir);
    if (st === undefined) continue;
    if (st.uid !== 0 && st.uid !== uid) return `${dir} above it belongs to uid ${st.uid}`;
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
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const buf = new Uint8Array(total < 65536 ? 16384 : 262144);
    const r = syscall("read", fd, buf, buf.length);
    if (r.ret < 0n) {
      if (r.errno === EINTR) continue;
      throw new DenkiError(`cannot read ${what}: ${describeErrno(r.errno)}`);
    }
    if (r.ret === 0n) break;
    chunks.push(buf.subarray(0, Number(r.ret)));
    total += Number(r.ret);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
