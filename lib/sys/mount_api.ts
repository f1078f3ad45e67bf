/** The new mount API's calls that take paths, raw: open_tree(2) and mount_setattr(2). */
import { attempt } from "./call.ts";
import { cString } from "./libc.ts";

/** open_tree(2) of `path` (relative to `dirfd`): the fd, or the errno. */
export function openTree(
  dirfd: number,
  path: string,
  flags: number,
): { fd: number; errno: number } {
  const r = attempt("open_tree", dirfd, cString(path), flags);
  return r.ret < 0n ? { fd: -1, errno: r.errno } : { fd: Number(r.ret), errno: 0 };
}

/**
 * mount_setattr(2) on the mount of fd `fd` itself (AT_EMPTY_PATH among `flags`), with a
 * struct mount_attr of attr_set, attr_clr, propagation and userns_fd; 0, or the errno.
 */
export function mountSetattr(
  fd: number,
  flags: number,
  attr: { set: number; clear: number; propagation: number; userns: number },
): number {
  const bytes = new BigUint64Array([
    BigInt(attr.set),
    BigInt(attr.clear),
    BigInt(attr.propagation),
    BigInt(attr.userns),
  ]);
  const r = attempt("mount_setattr", fd, cString(""), flags, new Uint8Array(bytes.buffer), 32);
  return r.ret < 0n ? r.errno : 0;
}
