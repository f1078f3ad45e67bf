/** Numbers of the system calls denki makes, for x86_64 and aarch64 (asm-generic numbering). */

/** Syscall name to [x86_64, aarch64] number. */
const TABLE = {
  read: [0, 63],
  write: [1, 64],
  close: [3, 57],
  ioctl: [16, 29],
  rt_sigaction: [13, 134],
  rt_sigprocmask: [14, 135],
  ppoll: [271, 73],
  socketpair: [53, 199],
  getpid: [39, 172],
  execve: [59, 221],
  kill: [62, 129],
  fcntl: [72, 25],
  getcwd: [79, 17],
  chdir: [80, 49],
  fchdir: [81, 50],
  umask: [95, 166],
  setgroups: [116, 159],
  setresuid: [117, 147],
  setresgid: [119, 149],
  capget: [125, 90],
  capset: [126, 91],
  pivot_root: [155, 41],
  prctl: [157, 167],
  chroot: [161, 51],
  mount: [165, 40],
  umount2: [166, 39],
  sethostname: [170, 161],
  setdomainname: [171, 162],
  getdents64: [217, 61],
  openat: [257, 56],
  mkdirat: [258, 34],
  mknodat: [259, 33],
  fchownat: [260, 54],
  newfstatat: [262, 79],
  unlinkat: [263, 35],
  symlinkat: [266, 36],
  readlinkat: [267, 78],
  fchmodat: [268, 53],
  unshare: [272, 97],
  dup3: [292, 24],
  prlimit64: [302, 261],
  setns: [308, 268],
  keyctl: [250, 219],
  waitid: [247, 95],
  setsid: [112, 157],
  statfs: [137, 43],
  pidfd_open: [434, 434],
  close_range: [436, 436],
  openat2: [437, 437],
} as const;

/** Names of the syscalls denki makes. */
export type SyscallName = keyof typeof TABLE;

/** The syscall number of `name` on this machine's architecture. */
export function syscallNumber(name: SyscallName, arch: string = Deno.build.arch): number {
  return TABLE[name][arch === "aarch64" ? 1 : 0];
}
