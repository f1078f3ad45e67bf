/**
 * Linux kernel constants (uapi values, the same on x86_64 and aarch64 unless a function takes
 * the architecture): defined once, here. Pure, so the stage's scripts can be built for either
 * architecture; lib/sys binds the arch-dependent ones to this machine's. errno numbers live in
 * errno.ts, signal numbers in signals.ts, mount flags in mount_options.ts, clone flags in
 * namespaces.ts; a constant only one module uses may stay in that module.
 */
import { CAPABILITIES } from "./capabilities.ts";
import { SIGNALS } from "./signals.ts";

/** prctl(2) options and arguments. */
export const PR = {
  SET_DUMPABLE: 4,
  SET_KEEPCAPS: 8,
  CAPBSET_DROP: 24,
  SET_NO_NEW_PRIVS: 38,
  CAP_AMBIENT: 47,
  CAP_AMBIENT_RAISE: 2,
  CAP_AMBIENT_CLEAR_ALL: 4,
} as const;

/** Capability numbers the runtime itself needs (from the table in capabilities.ts). */
export const CAP_SETPCAP = CAPABILITIES.CAP_SETPCAP;
export const CAP_SYS_ADMIN = CAPABILITIES.CAP_SYS_ADMIN;
/** _LINUX_CAPABILITY_VERSION_3 for capget/capset. */
export const CAP_V3 = 0x20080522;

/** open(2) flags. O_DIRECTORY and O_NOFOLLOW differ on aarch64: see the functions below. */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

/** O_DIRECTORY for an architecture (arm64 has its own fcntl.h values). */
export function oDirectory(arch: string): number {
  return arch === "aarch64" ? 0o40000 : 0o200000;
}

/** O_NOFOLLOW for an architecture. */
export function oNofollow(arch: string): number {
  return arch === "aarch64" ? 0o100000 : 0o400000;
}

/** The *at() family: the cwd as dirfd, and their flags. */
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

/** RESOLVE_* flags of openat2(2). */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

/** File type bits of st_mode, and the sticky bit. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISVTX = 0o1000;

/** fcntl(2) commands and the descriptor flag. */
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;

/** close_range(2) flag: mark close-on-exec instead of closing. */
export const CLOSE_RANGE_CLOEXEC = 1 << 2;

/** umount2(2) flag. */
export const MNT_DETACH = 2;

/** Sockets: families, types, levels, control messages and send/recv flags. */
export const AF_UNIX = 1;
export const AF_INET = 2;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const MSG_PEEK = 2;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

/** poll(2) event bits. */
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

/** Terminal ioctls (the generic numbers, which x86_64 and aarch64 share). */
export const TCGETS = 0x5401;
export const TCSETS = 0x5402;
export const TIOCSCTTY = 0x540e;
export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;
export const TIOCGPTN = 0x80045430;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGPTPEER = 0x5441;

/** seccomp(2) operation. */
export const SECCOMP_SET_MODE_FILTER = 1;

/** Clocks of clock_gettime(2). */
export const CLOCK_REALTIME = 0;

/** Signals the runtime itself sends or sets up (numbers from the table in signals.ts). */
export const SIGKILL = SIGNALS.KILL;
export const SIGCHLD = SIGNALS.CHLD;
export const SIGPIPE = SIGNALS.PIPE;
/** The SIG_IGN handler value. */
export const SIG_IGN = 1;
/** clone(2) flag: the child's parent is the caller's parent. */
export const CLONE_PARENT = 0x00008000;
