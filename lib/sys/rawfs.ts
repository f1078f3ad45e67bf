/**
 * File reads through raw syscalls, for /proc and /sys, which Deno's fs APIs refuse without
 * --allow-all (see libc.ts). Kept apart from syscalls.ts: `state` and `list` need only this.
 */
import { SyscallError } from "../errors.ts";
import { AT_FDCWD, O_CLOEXEC, O_RDONLY } from "../plan/abi.ts";
import { Errno } from "../plan/errno.ts";
import { close } from "./call.ts";
import { readToEnd, tryOpenat } from "./file.ts";

/** Reads a whole file; undefined when it (or the process it belongs to) does not exist. */
export function readFileRaw(path: string): Uint8Array | undefined {
  const { fd, errno } = tryOpenat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno === Errno.ENOENT || errno === Errno.ESRCH) return undefined;
    throw new SyscallError("open", path, errno);
  }
  try {
    return readToEnd(fd, path);
  } catch (err) {
    // The process exited while we read its file.
    if (err instanceof SyscallError && err.errno === Errno.ESRCH) return undefined;
    throw err;
  } finally {
    close(fd);
  }
}

/** Reads a whole file as UTF-8 text; undefined when it does not exist. */
export function readTextRaw(path: string): string | undefined {
  const bytes = readFileRaw(path);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
