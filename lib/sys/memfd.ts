/** memfds and running a program from an fd: what the native stage (lib/spawn) needs. */
import { SyscallError } from "../errors.ts";
import { cString, syscall } from "./libc.ts";
import { AT_EMPTY_PATH, cArray } from "./syscalls.ts";

const EINTR = 4;

/** memfd_create(2); returns the fd, or the errno. */
export function memfdCreate(name: string, flags: number): { fd: number; errno: number } {
  const r = syscall("memfd_create", cString(name), flags);
  return { fd: Number(r.ret), errno: r.ret < 0n ? r.errno : 0 };
}

/** fcntl(2) with an integer argument. */
export function fcntl(fd: number, cmd: number, arg: number): number {
  for (;;) {
    const r = syscall("fcntl", fd, cmd, arg);
    if (r.ret >= 0n) return Number(r.ret);
    if (r.errno !== EINTR) throw new SyscallError("fcntl", `fd ${fd}`, r.errno);
  }
}

/** lseek(2). */
export function lseek(fd: number, offset: number, whence: number): number {
  const r = syscall("lseek", fd, offset, whence);
  if (r.ret < 0n) throw new SyscallError("lseek", `fd ${fd}`, r.errno);
  return Number(r.ret);
}

/** execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the program an fd holds. Throws on failure. */
export function execveatEmpty(fd: number, argv: readonly string[], envp: readonly string[]): never {
  const a = cArray(argv);
  const e = cArray(envp);
  const r = syscall("execveat", fd, cString(""), a.ptrs, e.ptrs, AT_EMPTY_PATH);
  void a.keep;
  void e.keep;
  throw new SyscallError("execveat", `fd ${fd}`, r.errno);
}
