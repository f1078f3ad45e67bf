/** memfds and running a program from an fd: what the native stage (lib/spawn) needs. */
import { SyscallError } from "../errors.ts";
import { AT_EMPTY_PATH } from "../plan/abi.ts";
import { cString, syscall } from "./libc.ts";
import { check, tryCall } from "./call.ts";
import { cArray } from "./process.ts";

/** memfd_create(2); returns the fd, or the errno. */
export function memfdCreate(name: string, flags: number): { fd: number; errno: number } {
  const r = tryCall("memfd_create", cString(name), flags);
  return { fd: r.n, errno: r.errno };
}

/** fcntl(2) with an integer argument. */
export function fcntl(fd: number, cmd: number, arg: number): number {
  return check("fcntl", `fd ${fd}`, fd, cmd, arg);
}

/** lseek(2). */
export function lseek(fd: number, offset: number, whence: number): number {
  return check("lseek", `fd ${fd}`, fd, offset, whence);
}

/** execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the program an fd holds. Throws on failure. */
export function execveatEmpty(fd: number, argv: readonly string[], envp: readonly string[]): never {
  const a = cArray(argv);
  const e = cArray(envp);
  // Not retried: execve does not fail with EINTR, and when it succeeds nothing here runs on.
  const r = syscall("execveat", fd, cString(""), a.ptrs, e.ptrs, AT_EMPTY_PATH);
  void a.keep;
  void e.keep;
  throw new SyscallError("execveat", `fd ${fd}`, r.errno);
}
