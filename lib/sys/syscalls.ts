/**
 * Typed system calls on the calling (JS) thread. Each wrapper throws a SyscallError naming the
 * call, its argument and the errno; callers add what they were doing.
 */
import { SyscallError } from "../errors.ts";
import { cString, posixSpawn, syscall, type SyscallArg, type SyscallName } from "./libc.ts";

const ARM64 = Deno.build.arch === "aarch64";

/** Frequently used constants. O_DIRECTORY and O_NOFOLLOW differ on arm64 (its own fcntl.h). */
export const AT_FDCWD = -100;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = ARM64 ? 0o40000 : 0o200000;
export const O_NOFOLLOW = ARM64 ? 0o100000 : 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

/** errno values callers branch on. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EAGAIN: 11,
  EACCES: 13,
  EEXIST: 17,
  ENOTDIR: 20,
  EINVAL: 22,
  ENOSYS: 38,
  ELOOP: 40,
  EXDEV: 18,
} as const;

function check(name: SyscallName, target: string, ...args: SyscallArg[]): bigint {
  for (;;) {
    const r = syscall(name, ...args);
    if (r.ret >= 0n) return r.ret;
    if (r.errno !== Errno.EINTR) throw new SyscallError(name, target, r.errno);
  }
}

/** Like `check`, but returns the errno instead of throwing (for expected failures). */
function attempt(name: SyscallName, ...args: SyscallArg[]): { ret: bigint; errno: number } {
  for (;;) {
    const r = syscall(name, ...args);
    if (r.ret >= 0n || r.errno !== Errno.EINTR) return r;
  }
}

const s = (v: string | null) => (v === null ? 0 : cString(v));

/** mount(2). */
export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null,
): void {
  check("mount", target, s(source), cString(target), s(fstype), flags, s(data));
}

/** umount2(2). */
export function umount2(target: string, flags: number): void {
  check("umount2", target, cString(target), flags);
}

/** pivot_root(2). */
export function pivotRoot(newRoot: string, putOld: string): void {
  check("pivot_root", newRoot, cString(newRoot), cString(putOld));
}

/** chdir(2). */
export function chdir(path: string): void {
  check("chdir", path, cString(path));
}

/** fchdir(2). */
export function fchdir(fd: number): void {
  check("fchdir", `fd ${fd}`, fd);
}

/** chroot(2). */
export function chroot(path: string): void {
  check("chroot", path, cString(path));
}

/** unshare(2) with CLONE_* flags. */
export function unshare(flags: number): void {
  check("unshare", `0x${flags.toString(16)}`, flags);
}

/** setns(2). */
export function setns(fd: number, nstype: number, what = `fd ${fd}`): void {
  check("setns", what, fd, nstype);
}

/** openat(2); returns the new fd. */
export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  return Number(check("openat", path, dirfd, cString(path), flags, mode));
}

/** open(2) relative to the cwd. */
export function open(path: string, flags: number, mode = 0): number {
  return openat(AT_FDCWD, path, flags, mode);
}

/** openat(2) that returns the errno instead of throwing. */
export function tryOpenat(
  dirfd: number,
  path: string,
  flags: number,
  mode = 0,
): { fd: number; errno: number } {
  const r = attempt("openat", dirfd, cString(path), flags, mode);
  return { fd: Number(r.ret), errno: r.ret < 0n ? r.errno : 0 };
}

/** RESOLVE_* flags of openat2(2). */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

/** openat2(2); returns the fd, or the errno when it fails. */
export function tryOpenat2(
  dirfd: number,
  path: string,
  flags: number,
  resolve: number,
  mode = 0,
): { fd: number; errno: number } {
  const how = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(resolve)]);
  const p = cString(path);
  // With RESOLVE_IN_ROOT the kernel answers EAGAIN when a mount or rename anywhere raced with
  // resolving "..": retry, as its documentation asks.
  for (let tries = 0;; tries++) {
    const r = attempt("openat2", dirfd, p, new Uint8Array(how.buffer), 24);
    if (r.ret < 0n && r.errno === Errno.EAGAIN && tries < 1000) continue;
    return { fd: Number(r.ret), errno: r.ret < 0n ? r.errno : 0 };
  }
}

/** close(2), ignoring errors (there is nothing useful to do about them). */
export function close(fd: number): void {
  syscall("close", fd);
}

/** read(2) into `buf`; returns the byte count (0 at end of file). */
export function read(fd: number, buf: Uint8Array, what = `fd ${fd}`): number {
  return Number(check("read", what, fd, buf, buf.length));
}

/** read(2) that returns the errno instead of throwing (for non-blocking reads). */
export function tryRead(fd: number, buf: Uint8Array): { n: number; errno: number } {
  const r = attempt("read", fd, buf, buf.length);
  return { n: Number(r.ret), errno: r.ret < 0n ? r.errno : 0 };
}

/** write(2) of all of `buf`. */
export function writeAll(fd: number, buf: Uint8Array, what = `fd ${fd}`): void {
  let off = 0;
  while (off < buf.length) {
    const chunk = buf.subarray(off);
    off += Number(check("write", what, fd, chunk, chunk.length));
  }
}

/** mkdirat(2); an existing entry is not an error when `existOk`. */
export function mkdirat(dirfd: number, path: string, mode: number, existOk = false): void {
  const r = attempt("mkdirat", dirfd, cString(path), mode);
  if (r.ret < 0n && !(existOk && r.errno === Errno.EEXIST)) {
    throw new SyscallError("mkdirat", path, r.errno);
  }
}

/** mknodat(2). */
export function mknodat(dirfd: number, path: string, mode: number, dev: bigint): void {
  check("mknodat", path, dirfd, cString(path), mode, dev);
}

/** fchmodat(2). */
export function fchmodat(dirfd: number, path: string, mode: number): void {
  check("fchmodat", path, dirfd, cString(path), mode, 0);
}

/** fchownat(2) without following a final symlink. */
export function fchownat(dirfd: number, path: string, uid: number, gid: number, flags = 0): void {
  check("fchownat", path, dirfd, cString(path), uid, gid, flags);
}

/** symlinkat(2). */
export function symlinkat(target: string, dirfd: number, path: string): void {
  check("symlinkat", path, cString(target), dirfd, cString(path));
}

/** unlinkat(2). */
export function unlinkat(dirfd: number, path: string, flags = 0): void {
  check("unlinkat", path, dirfd, cString(path), flags);
}

/** readlinkat(2); undefined when the path is not a symlink or does not exist. */
export function readlinkat(dirfd: number, path: string): string | undefined {
  const buf = new Uint8Array(4096);
  const r = attempt("readlinkat", dirfd, cString(path), buf, buf.length);
  if (r.ret < 0n) return undefined;
  return new TextDecoder().decode(buf.subarray(0, Number(r.ret)));
}

/** The st_mode of a path (type and permission bits), or undefined when it is missing. */
export function statMode(
  dirfd: number,
  path: string,
  flags = AT_SYMLINK_NOFOLLOW,
): number | undefined {
  const st = new Uint8Array(256);
  const r = attempt("newfstatat", dirfd, cString(path), st, flags);
  if (r.ret < 0n) return undefined;
  // st_mode is at offset 24 on x86_64 and 16 on aarch64 (struct stat layouts differ).
  const off = Deno.build.arch === "aarch64" ? 16 : 24;
  return new DataView(st.buffer).getUint32(off, true);
}

/** The file type bits of a path (S_IFDIR, S_IFREG, ...), or undefined when it is missing. */
export function fileType(
  dirfd: number,
  path: string,
  flags = AT_SYMLINK_NOFOLLOW,
): number | undefined {
  const mode = statMode(dirfd, path, flags);
  return mode === undefined ? undefined : mode & S_IFMT;
}

/** S_IF* file type constants. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** sethostname(2). */
export function sethostname(name: string): void {
  const b = new TextEncoder().encode(name);
  check("sethostname", name, b, b.length);
}

/** setdomainname(2). */
export function setdomainname(name: string): void {
  const b = new TextEncoder().encode(name);
  check("setdomainname", name, b, b.length);
}

/** prctl(2). */
export function prctl(
  option: number,
  a = 0,
  b = 0,
  c = 0,
  d = 0,
  what = `option ${option}`,
): number {
  return Number(check("prctl", what, option, a, b, c, d));
}

/** flock(2): LOCK_EX, blocking or not. Returns false when `wait` is false and it is held. */
export function flockExclusive(fd: number, wait: boolean, what: string): boolean {
  const LOCK_EX = 2;
  const LOCK_NB = 4;
  const r = attempt("flock", fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
  if (r.ret >= 0n) return true;
  if (!wait && r.errno === Errno.EAGAIN) return false;
  throw new SyscallError("flock", what, r.errno);
}

/** The (dev, ino) of an fd or a path, or undefined when it does not exist. */
export function fileId(dirfd: number, path: string, flags = 0): string | undefined {
  const st = new Uint8Array(256);
  const r = attempt("newfstatat", dirfd, cString(path), st, flags);
  if (r.ret < 0n) return undefined;
  const v = new DataView(st.buffer);
  return `${v.getBigUint64(0, true)}:${v.getBigUint64(8, true)}`;
}

/** setsid(2): a new session and process group; EPERM (already a leader) is not an error. */
export function setsid(): void {
  const r = attempt("setsid");
  if (r.ret < 0n && r.errno !== Errno.EPERM) throw new SyscallError("setsid", "self", r.errno);
}

/** MS_* flags of the mount holding `path` (from statfs f_flags), for remounts that keep them. */
export function mountFlags(path: string): number {
  const buf = new Uint8Array(120);
  check("statfs", path, cString(path), buf);
  const f = Number(new DataView(buf.buffer).getBigUint64(80, true));
  // ST_* equals MS_* except ST_RELATIME (4096) versus MS_RELATIME (0x200000).
  const ST_RELATIME = 4096;
  return (f & 0x0c5f & ~ST_RELATIME) | (f & ST_RELATIME ? 0x200000 : 0);
}

/** keyctl(KEYCTL_JOIN_SESSION_KEYRING): a new session keyring named `name`; errno on failure. */
export function joinSessionKeyring(name: string): number {
  const r = attempt("keyctl", 1, cString(name));
  return r.ret < 0n ? r.errno : 0;
}

/** setresuid(2) (raw: the calling thread only, which then execs). */
export function setresuid(uid: number): void {
  check("setresuid", `uid ${uid}`, uid, uid, uid);
}

/** setresgid(2) (raw: the calling thread only). */
export function setresgid(gid: number): void {
  check("setresgid", `gid ${gid}`, gid, gid, gid);
}

/** setgroups(2). */
export function setgroups(gids: readonly number[]): void {
  const list = new Uint32Array(gids.length === 0 ? 1 : gids.length);
  list.set(gids);
  check("setgroups", `[${gids.join(",")}]`, gids.length, new Uint8Array(list.buffer));
}

/** The three capability sets as 64-bit masks. */
export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

const CAP_V3 = 0x20080522;

/** capget(2) for the calling thread. */
export function capget(): CapSets {
  const header = new Uint32Array([CAP_V3, 0]);
  const data = new Uint32Array(6);
  check("capget", "self", new Uint8Array(header.buffer), new Uint8Array(data.buffer));
  const join = (lo: number, hi: number) => BigInt(lo) | (BigInt(hi) << 32n);
  return {
    effective: join(data[0]!, data[3]!),
    permitted: join(data[1]!, data[4]!),
    inheritable: join(data[2]!, data[5]!),
  };
}

/** capset(2) for the calling thread. */
export function capset(sets: CapSets): void {
  const header = new Uint32Array([CAP_V3, 0]);
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const hi = (v: bigint) => Number(v >> 32n);
  const data = new Uint32Array([
    lo(sets.effective),
    lo(sets.permitted),
    lo(sets.inheritable),
    hi(sets.effective),
    hi(sets.permitted),
    hi(sets.inheritable),
  ]);
  check("capset", "self", new Uint8Array(header.buffer), new Uint8Array(data.buffer));
}

/** The calling process's soft and hard limit of a resource (prlimit64). */
export function getrlimit(resource: number): { soft: bigint; hard: bigint } {
  const lim = new BigUint64Array(2);
  check("prlimit64", `resource ${resource}`, 0, resource, 0, new Uint8Array(lim.buffer));
  return { soft: lim[0]!, hard: lim[1]! };
}

/** prlimit64(2) on the calling process. */
export function setrlimit(resource: number, soft: bigint, hard: bigint, what: string): void {
  const lim = new BigUint64Array([soft, hard]);
  check("prlimit64", what, 0, resource, new Uint8Array(lim.buffer), 0);
}

/** umask(2); returns the previous mask. */
export function umask(mask: number): number {
  return Number(syscall("umask", mask).ret);
}

/** kill(2). Returns the errno (0 on success) so callers can treat ESRCH specially. */
export function kill(pid: number, signal: number): number {
  const r = syscall("kill", pid, signal);
  return r.ret < 0n ? r.errno : 0;
}

/** socketpair(AF_UNIX, SOCK_STREAM) without CLOEXEC, so a spawned child can inherit one end. */
export function socketpair(): [number, number] {
  const fds = new Int32Array(2);
  check("socketpair", "AF_UNIX", 1, 1, 0, new Uint8Array(fds.buffer));
  return [fds[0]!, fds[1]!];
}

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** Sets or clears close-on-exec on an fd. */
export function setCloexec(fd: number, on: boolean): void {
  const flags = Number(check("fcntl", `fd ${fd}`, fd, F_GETFD, 0));
  check("fcntl", `fd ${fd}`, fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

/** close_range(2) with CLOSE_RANGE_CLOEXEC: marks fds first..last close-on-exec. */
export function cloexecRange(first: number): void {
  const CLOSE_RANGE_CLOEXEC = 1 << 2;
  check("close_range", `fds ${first}..`, first, 0xffffffff, CLOSE_RANGE_CLOEXEC);
}

/** getcwd(2). */
export function getcwd(): string {
  const buf = new Uint8Array(4096);
  const n = Number(check("getcwd", "cwd", buf, buf.length));
  return new TextDecoder().decode(buf.subarray(0, n - 1));
}

/** poll(2) of one fd for `events`, up to `timeoutMs`; returns the revents (0 on timeout). */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  const pfd = new Uint8Array(8);
  const view = new DataView(pfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, events, true);
  const ts = new BigInt64Array([
    BigInt(Math.floor(timeoutMs / 1000)),
    BigInt((timeoutMs % 1000) * 1e6),
  ]);
  const r = attempt("ppoll", pfd, 1, new Uint8Array(ts.buffer), 0, 8);
  if (r.ret < 0n) return 0;
  return view.getInt16(6, true);
}

/** Builds a NULL-terminated array of C string pointers (argv/envp), keeping the strings alive. */
export function cArray(items: readonly string[]): { ptrs: Uint8Array; keep: Uint8Array[] } {
  const keep = items.map(cString);
  const ptrs = new BigUint64Array(items.length + 1);
  keep.forEach((b, i) => {
    ptrs[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
  });
  return { ptrs: new Uint8Array(ptrs.buffer), keep };
}

/** Starts a program (argv[0] included in `argv`) with `envp`; stdio and non-CLOEXEC fds pass. */
export function spawn(path: string, argv: readonly string[], envp: readonly string[]): number {
  const a = cArray(argv);
  const e = cArray(envp);
  const r = posixSpawn(cString(path), a.ptrs, e.ptrs);
  void a.keep;
  void e.keep;
  if (r.error !== 0) throw new SyscallError("posix_spawn", path, r.error);
  return r.pid;
}

/** How a child ended: its exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number;
  signal: number | null;
}

const P_PIDFD = 3;
const WEXITED = 4;
const WNOHANG = 1;
const CLD_EXITED = 1;

/** pidfd_open(2): an fd that becomes readable when the process exits. */
export function pidfdOpen(pid: number): number {
  return Number(check("pidfd_open", `pid ${pid}`, pid, 0));
}

/** Reaps a child through its pidfd; undefined while it is still running. */
export function reap(pidfd: number): ExitStatus | undefined {
  const info = new Uint8Array(128);
  const r = attempt("waitid", P_PIDFD, pidfd, info, WEXITED | WNOHANG, 0);
  if (r.ret < 0n) throw new SyscallError("waitid", `pidfd ${pidfd}`, r.errno);
  const view = new DataView(info.buffer);
  if (view.getInt32(16, true) === 0) return undefined; // si_pid 0: not exited yet
  const code = view.getInt32(8, true);
  const status = view.getInt32(24, true);
  return code === CLD_EXITED
    ? { code: status, signal: null }
    : { code: 128 + status, signal: status };
}

/** Waits for a child to exit without blocking the event loop for long (signals still run). */
export async function waitChild(pid: number): Promise<ExitStatus> {
  const fd = pidfdOpen(pid);
  try {
    for (;;) {
      const done = reap(fd);
      if (done !== undefined) return done;
      if (pollOne(fd, 1, 50) === 0) await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    close(fd);
  }
}

/** The entry names of a directory (without "." and ".."), read with getdents64. */
export function listDir(path: string): string[] {
  const fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  try {
    return listDirFd(fd, path);
  } finally {
    close(fd);
  }
}

/** The entry names of an open directory (without "." and ".."); reads from its current offset. */
export function listDirFd(fd: number, what = `fd ${fd}`): string[] {
  const names: string[] = [];
  const decoder = new TextDecoder();
  const buf = new Uint8Array(32768);
  const view = new DataView(buf.buffer);
  for (;;) {
    const n = Number(check("getdents64", what, fd, buf, buf.length));
    if (n === 0) break;
    // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[].
    for (let off = 0; off < n;) {
      const reclen = view.getUint16(off + 16, true);
      const nameStart = off + 19;
      let end = nameStart;
      while (end < off + reclen && buf[end] !== 0) end++;
      const name = decoder.decode(buf.subarray(nameStart, end));
      if (name !== "." && name !== "..") names.push(name);
      off += reclen;
    }
  }
  return names;
}

/** What copy-up needs from stat(2): type and mode bits, owner, and device number. */
export interface StatInfo {
  mode: number;
  uid: number;
  gid: number;
  rdev: bigint;
}

/** lstat of `path` relative to `dirfd` (no symlink followed; "" is the fd itself). */
export function statAt(dirfd: number, path: string): StatInfo | undefined {
  const st = new Uint8Array(256);
  const flags = AT_SYMLINK_NOFOLLOW | (path === "" ? AT_EMPTY_PATH : 0);
  const r = attempt("newfstatat", dirfd, cString(path), st, flags);
  if (r.ret < 0n) return undefined;
  const v = new DataView(st.buffer);
  // struct stat differs: x86_64 has nlink (u64) before mode, aarch64 after it.
  return Deno.build.arch === "aarch64"
    ? {
      mode: v.getUint32(16, true),
      uid: v.getUint32(24, true),
      gid: v.getUint32(28, true),
      rdev: v.getBigUint64(32, true),
    }
    : {
      mode: v.getUint32(24, true),
      uid: v.getUint32(28, true),
      gid: v.getUint32(32, true),
      rdev: v.getBigUint64(40, true),
    };
}

/** Writes text to an existing file (a /proc or /sys knob) with one write call. */
export function writeTextRaw(path: string, text: string): void {
  const fd = open(path, O_WRONLY | O_CLOEXEC);
  try {
    writeAll(fd, new TextEncoder().encode(text), path);
  } finally {
    close(fd);
  }
}
