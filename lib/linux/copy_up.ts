/**
 * `tmpcopyup`: a tmpfs mounted over a directory starts with a copy of what the directory
 * held (podman uses it for --read-only's /run, /tmp and /var/tmp, and for --tmpfs). The copy
 * goes from an fd of the directory underneath to an fd of the new tmpfs, entry by entry with
 * *at() calls that never follow a symlink, so nothing outside the container's root is read.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { S_IFSOCK } from "../plan/abi.ts";
import * as sc from "../sys/syscalls.ts";

const O_DIR = sc.O_RDONLY | sc.O_DIRECTORY | sc.O_NOFOLLOW | sc.O_CLOEXEC;

/** Copies the entries of directory `from` into directory `to` (both open fds), recursively. */
export function copyTree(from: number, to: number): void {
  for (const name of sc.listDirFd(from)) {
    const st = sc.statAt(from, name);
    if (st === undefined) continue; // gone meanwhile
    const type = st.mode & sc.S_IFMT;
    const perm = st.mode & 0o7777;
    if (type === sc.S_IFDIR) {
      sc.mkdirat(to, name, 0o700);
      const a = sc.openat(from, name, O_DIR);
      try {
        const b = sc.openat(to, name, O_DIR);
        try {
          copyTree(a, b);
        } finally {
          sc.close(b);
        }
      } finally {
        sc.close(a);
      }
    } else if (type === sc.S_IFREG) {
      copyFile(from, to, name);
    } else if (type === sc.S_IFLNK) {
      sc.symlinkat(sc.readlinkat(from, name) ?? "", to, name);
    } else if (
      type === sc.S_IFCHR || type === sc.S_IFBLK || type === sc.S_IFIFO || type === S_IFSOCK
    ) {
      sc.mknodat(to, name, type | perm, st.rdev);
    } else {
      continue;
    }
    sc.fchownat(to, name, st.uid, st.gid, sc.AT_SYMLINK_NOFOLLOW);
    // Symlinks have no mode of their own; the others get theirs without the umask.
    if (type !== sc.S_IFLNK) sc.fchmodat(to, name, perm);
  }
}

function copyFile(from: number, to: number, name: string): void {
  const src = sc.openat(from, name, sc.O_RDONLY | sc.O_NOFOLLOW | sc.O_CLOEXEC);
  try {
    const dst = sc.openat(
      to,
      name,
      sc.O_WRONLY | sc.O_CREAT | sc.O_EXCL | sc.O_NOFOLLOW | sc.O_CLOEXEC,
      0o600,
    );
    try {
      const buf = new Uint8Array(1 << 16);
      for (;;) {
        const n = sc.read(src, buf, name);
        if (n === 0) break;
        sc.writeAll(dst, buf.subarray(0, n), name);
      }
    } finally {
      sc.close(dst);
    }
  } finally {
    sc.close(src);
  }
}

/** The copy-up, with errors naming the mount's destination. */
export function copyUp(from: number, to: number, destination: string): void {
  try {
    copyTree(from, to);
  } catch (err) {
    if (err instanceof SyscallError) {
      throw new DenkiError(`cannot copy ${destination} onto its tmpfs (tmpcopyup): ${err.message}`);
    }
    throw err;
  }
}
