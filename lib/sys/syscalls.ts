/**
 * Typed system calls on the calling (JS) thread. Each wrapper throws a SyscallError naming the
 * call, its argument and the errno; callers add what they were doing. This module also
 * re-exports the smaller lib/sys modules (call, file, stat) and the kernel constants callers
 * pass to these calls, so that `sc.` is one name for all of them.
 */
import { SyscallError } from "../errors.ts";
import {
  AF_UNIX,
  AT_EMPTY_PATH,
  CAP_V3,
  CLOSE_RANGE_CLOEXEC,
  F_GETFD,
  F_SETFD,
  FD_CLOEXEC,
  O_CLOEXEC,
  O_RDONLY,
  O_WRONLY,
  oDirectory,
  oNofollow,
  S_IFDIR,
  SECCOMP_SET_MODE_FILTER,
  SOCK_STREAM,
} from "../plan/abi.ts";
import { Errno } from "../plan/errno.ts";
import { cString } from "./libc.ts";
import { attempt, check, close, tryCall } from "./call.ts";
import { open, writeAll } from "./file.ts";
import { fileType } from "./stat.ts";

export {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NOCTTY,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  RESOLVE_BENEATH,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  RESOLVE_NO_XDEV,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from "../plan/abi.ts";
export { Errno } from "../plan/errno.ts";
export { attempt, check, close } from "./call.ts";
export {
  open,
  openat,
  read,
  readlinkat,
  tryOpenat,
  tryOpenat2,
  tryRead,
  writeAll,
  writeSome,
} from "./file.ts";
export { fileId, fileType, type Stat, statAt, statMode } from "./stat.ts";
export { clockNs, clockResNs } from "./clock.ts";
export { pollOne } from "./poll.ts";
export { cArray, type ExitStatus, pidfdOpen, reap, spawn, waitChild } from "./process.ts";
/** What copy-up needs from stat(2): now the whole decoded stat. */
export type { Stat as StatInfo } from "./stat.ts";

/** O_DIRECTORY on this machine (arm64 has its own value). */
export const O_DIRECTORY = oDirectory(Deno.build.arch);
/** O_NOFOLLOW on this machine. */
export const O_NOFOLLOW = oNofollow(Deno.build.arch);

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

/** mount_setattr(fd, "", AT_EMPTY_PATH) changing nothing: its errno (ENOSYS before Linux 5.12). */
export function mountSetattrErrno(fd: number): number {
  const attr = new BigUint64Array(4);
  const r = attempt(
    "mount_setattr",
    fd,
    cString(""),
    AT_EMPTY_PATH,
    new Uint8Array(attr.buffer),
    32,
  );
  return r.ret < 0n ? r.errno : 0;
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
  return check("prctl", what, option, a, b, c, d);
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
  return tryCall("umask", mask).n;
}

/** kill(2). Returns the errno (0 on success) so callers can treat ESRCH specially. */
export function kill(pid: number, signal: number): number {
  return tryCall("kill", pid, signal).errno;
}

/** socketpair(AF_UNIX, SOCK_STREAM) without CLOEXEC, so a spawned child can inherit one end. */
export function socketpair(): [number, number] {
  const fds = new Int32Array(2);
  check("socketpair", "AF_UNIX", AF_UNIX, SOCK_STREAM, 0, new Uint8Array(fds.buffer));
  return [fds[0]!, fds[1]!];
}

/** Sets or clears close-on-exec on an fd. */
export function setCloexec(fd: number, on: boolean): void {
  const flags = check("fcntl", `fd ${fd}`, fd, F_GETFD, 0);
  check("fcntl", `fd ${fd}`, fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

/** close_range(2) with CLOSE_RANGE_CLOEXEC: marks fds first..last close-on-exec. */
export function cloexecRange(first: number): void {
  check("close_range", `fds ${first}..`, first, 0xffffffff, CLOSE_RANGE_CLOEXEC);
}

/** getcwd(2). */
export function getcwd(): string {
  const buf = new Uint8Array(4096);
  const n = check("getcwd", "cwd", buf, buf.length);
  return new TextDecoder().decode(buf.subarray(0, n - 1));
}

/** getpid(2). */
export function getpid(): number {
  return tryCall("getpid").n;
}

/** Whether `fd` is an open descriptor of this process (fcntl F_GETFD succeeds). */
export function isOpenFd(fd: number): boolean {
  return tryCall("fcntl", fd, F_GETFD, 0).errno === 0;
}

/**
 * Whether two fds of process `pid` are one open file description (kcmp KCMP_FILE); undefined
 * where kcmp is missing (a kernel without CONFIG_KCMP) or refused.
 */
export function sameOpenFile(pid: number, a: number, b: number): boolean | undefined {
  const KCMP_FILE = 0;
  const r = attempt("kcmp", pid, pid, KCMP_FILE, a, b);
  return r.ret < 0n ? undefined : r.ret === 0n;
}

/** pipe2(2) with O_CLOEXEC: [read end, write end]; `what` names it in errors. */
export function pipe(what: string): [number, number] {
  const fds = new Int32Array(2);
  check("pipe2", what, new Uint8Array(fds.buffer), O_CLOEXEC);
  return [fds[0]!, fds[1]!];
}

/**
 * seccomp(SECCOMP_SET_MODE_FILTER) of a classic BPF program on the calling thread; the result
 * (a listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0) or the errno.
 */
export function seccompSetFilter(program: Uint8Array, flags: number): { n: number; errno: number } {
  // struct sock_fprog: u16 len, padding to 8, then the filter pointer.
  const fprog = new Uint8Array(16);
  const view = new DataView(fprog.buffer);
  view.setUint16(0, program.length / 8, true);
  view.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(program))), true);
  const r = tryCall("seccomp", SECCOMP_SET_MODE_FILTER, flags, fprog);
  void program; // the filter must stay alive until the kernel has copied it
  return r;
}

/**
 * A new instance of file system `fstype` mounted nowhere (fsopen, FSCONFIG_CMD_CREATE,
 * fsmount): an fd of its root, or undefined where the kernel (before 5.2) or the caller
 * cannot make one.
 */
export function detachedMount(fstype: string): number | undefined {
  const FSOPEN_CLOEXEC = 1;
  const FSCONFIG_CMD_CREATE = 6;
  const FSMOUNT_CLOEXEC = 1;
  const fs = tryCall("fsopen", cString(fstype), FSOPEN_CLOEXEC);
  if (fs.errno !== 0) return undefined;
  try {
    if (tryCall("fsconfig", fs.n, FSCONFIG_CMD_CREATE, 0, 0, 0).errno !== 0) return undefined;
    const mnt = tryCall("fsmount", fs.n, FSMOUNT_CLOEXEC, 0);
    return mnt.errno !== 0 ? undefined : mnt.n;
  } finally {
    close(fs.n);
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
  return dirEntries(fd, what).map(([name]) => name);
}

/**
 * The names of the directories in `path` (not following links), from the types getdents64
 * gives, so a cgroup's many files cost no stat each; a file system without types gets a stat.
 */
export function listSubdirs(path: string): string[] {
  const fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  try {
    return dirEntries(fd, path)
      .filter(([name, type]) =>
        type === DT_DIR || (type === DT_UNKNOWN && fileType(fd, name) === S_IFDIR)
      )
      .map(([name]) => name);
  } finally {
    close(fd);
  }
}

const DT_UNKNOWN = 0;
const DT_DIR = 4;

/** Every entry of an open directory but "." and "..", with its d_type. */
function dirEntries(fd: number, what: string): [name: string, type: number][] {
  const entries: [string, number][] = [];
  const decoder = new TextDecoder();
  const buf = new Uint8Array(32768);
  const view = new DataView(buf.buffer);
  for (;;) {
    const n = check("getdents64", what, fd, buf, buf.length);
    if (n === 0) break;
    // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[].
    for (let off = 0; off < n;) {
      const reclen = view.getUint16(off + 16, true);
      const nameStart = off + 19;
      let end = nameStart;
      while (end < off + reclen && buf[end] !== 0) end++;
      const name = decoder.decode(buf.subarray(nameStart, end));
      if (name !== "." && name !== "..") entries.push([name, buf[off + 18]!]);
      off += reclen;
    }
  }
  return entries;
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
