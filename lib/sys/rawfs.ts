/**
 * File reads through raw syscalls, for /proc and /sys, which Deno's fs APIs refuse without
 * --allow-all (see libc.ts). Kept apart from syscalls.ts: `state` and `list` need only this.
 */
import { SyscallError } from "../errors.ts";
import { cString, syscall } from "./libc.ts";

const AT_FDCWD = -100;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const ENOENT = 2;
const ESRCH = 3;

/** Reads a whole file; undefined when it (or the process it belongs to) does not exist. */
export function readFileRaw(path: string): Uint8Array | undefined {
  const open = syscall("openat", AT_FDCWD, cString(path), O_RDONLY | O_CLOEXEC, 0);
  if (open.ret < 0n) {
    if (open.errno === ENOENT || open.errno === ESRCH) return undefined;
    throw new SyscallError("open", path, open.errno);
  }
  const fd = open.ret;
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(8192);
      const r = syscall("read", fd, buf, buf.length);
      if (r.ret < 0n) {
        if (r.errno === ESRCH) return undefined; // the process exited while we read
        throw new SyscallError("read", path, r.errno);
      }
      if (r.ret === 0n) break;
      chunks.push(buf.subarray(0, Number(r.ret)));
      total += Number(r.ret);
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  } finally {
    syscall("close", fd);
  }
}

/** Reads a whole file as UTF-8 text; undefined when it does not exist. */
export function readTextRaw(path: string): string | undefined {
  const bytes = readFileRaw(path);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
