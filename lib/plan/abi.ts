/**
 * Linux kernel constants (uapi values, the same on x86_64 and aarch64 unless a function takes
 * the architecture) that more than one module uses: defined once, here.
 */

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

/** Capability numbers the runtime itself needs (names and the rest: capabilities.ts). */
export const CAP_SETPCAP = 8;
export const CAP_SYS_ADMIN = 21;
/** _LINUX_CAPABILITY_VERSION_3 for capget/capset. */
export const CAP_V3 = 0x20080522;

/** open(2) flags and *at() flags. O_DIRECTORY and O_NOFOLLOW differ on aarch64. */
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_NOCTTY = 0o400;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
export const AT_FDCWD = -100;
export const AT_EMPTY_PATH = 0x1000;

/** O_DIRECTORY for an architecture. */
export function oDirectory(arch: string): number {
  return arch === "aarch64" ? 0o40000 : 0o200000;
}

/** Terminal ioctls. */
export const TIOCSCTTY = 0x540e;
export const TIOCSWINSZ = 0x5414;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGPTPEER = 0x5441;

/** Signals and clone flags the stage uses. */
export const SIGCHLD = 17;
export const SIGPIPE = 13;
export const SIG_IGN = 1;
export const CLONE_PARENT = 0x00008000;
