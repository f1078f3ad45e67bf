/**
 * /dev inside the container: the devices every container gets (null, zero, full, random,
 * urandom, tty), the ones `linux.devices` asks for, and the standard links (fd, stdin, stdout,
 * stderr, ptmx, core).
 */
import { DenkiError, SyscallError } from "../errors.ts";
import type { Device } from "../spec/config.ts";
import * as sc from "../sys/syscalls.ts";
import { fdPath, openInRoot } from "./resolve.ts";
import { MS } from "../plan/mount_options.ts";

/** The devices the runtime-spec requires in every container. */
export const DEFAULT_DEVICES: readonly Device[] = [
  { type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

/** The standard /dev links: [link name under /dev, target]. */
export const DEV_LINKS: readonly [string, string][] = [
  ["fd", "/proc/self/fd"],
  ["stdin", "/proc/self/fd/0"],
  ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"],
  ["ptmx", "pts/ptmx"],
];

/**
 * The dev_t of major:minor for mknod. The kernel keeps 12 bits of major and 20 of minor
 * (mknod's dev is 32 bits, new_decode_dev): larger numbers would lose bits and name another
 * device (4097:1 is 1:1), so they are refused here as in validation.
 */
export function makedev(major: number, minor: number): bigint {
  if (!(major >= 0 && major <= 0xfff && minor >= 0 && minor <= 0xfffff)) {
    throw new DenkiError(`device number ${major}:${minor} is beyond the kernel's 4095:1048575`);
  }
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) |
    (mi & 0xffn);
}

const TYPE_BITS: Record<Device["type"], number> = {
  c: sc.S_IFCHR,
  u: sc.S_IFCHR,
  b: sc.S_IFBLK,
  p: sc.S_IFIFO,
};

/** The devices to create: the defaults, overridden by config entries for the same path. */
export function devicePlan(configured: readonly Device[]): Device[] {
  const paths = new Set(configured.map((d) => d.path));
  return [...DEFAULT_DEVICES.filter((d) => !paths.has(d.path)), ...configured];
}

function split(path: string): [string, string] {
  const i = path.lastIndexOf("/");
  return [path.slice(0, i) || "/", path.slice(i + 1)];
}

/** Creates one device node inside the root; an entry already there is left alone (as runc). */
export function createDevice(rootFd: number, dev: Device): void {
  const [dir, name] = split(dev.path);
  const parent = openInRoot(rootFd, dir, "dir");
  try {
    if (sc.fileType(parent, name) !== undefined) return;
    const mode = (dev.fileMode ?? 0o666) & 0o7777;
    const rdev = dev.type === "p" ? 0n : makedev(Number(dev.major ?? 0), Number(dev.minor ?? 0));
    try {
      sc.mknodat(parent, name, TYPE_BITS[dev.type] | mode, rdev);
    } catch (err) {
      // Without CAP_MKNOD (or on a nodev mount) a default device can still be bind-mounted.
      if (!(err instanceof SyscallError) || err.errno !== sc.Errno.EPERM || dev.type === "p") {
        throw err;
      }
      bindHostDevice(parent, name, dev.path);
      return;
    }
    // mknod applies the umask: set the exact mode, then the owner.
    sc.fchmodat(parent, name, mode);
    sc.fchownat(parent, name, dev.uid ?? 0, dev.gid ?? 0, sc.AT_SYMLINK_NOFOLLOW);
  } catch (err) {
    if (err instanceof SyscallError) {
      throw new DenkiError(`cannot create device ${dev.path}: ${err.message}`);
    }
    throw err;
  } finally {
    sc.close(parent);
  }
}

function bindHostDevice(parent: number, name: string, hostPath: string): void {
  const fd = sc.openat(
    parent,
    name,
    sc.O_CREAT | sc.O_WRONLY | sc.O_NOFOLLOW | sc.O_CLOEXEC,
    0o644,
  );
  sc.close(fd);
  const target = sc.openat(parent, name, sc.O_PATH | sc.O_NOFOLLOW | sc.O_CLOEXEC);
  try {
    sc.mount(hostPath, fdPath(target), null, MS.BIND, null);
  } finally {
    sc.close(target);
  }
}

/** Creates the standard /dev links that are not there yet (ptmx: a link to pts/ptmx). */
export function createDevLinks(rootFd: number): void {
  const dev = openInRoot(rootFd, "/dev", "dir");
  try {
    for (const [name, target] of DEV_LINKS) {
      const type = sc.fileType(dev, name);
      if (name === "ptmx" && type !== undefined) sc.unlinkat(dev, name);
      else if (type !== undefined) continue;
      sc.symlinkat(target, dev, name);
    }
  } catch (err) {
    if (err instanceof SyscallError) {
      throw new DenkiError(`cannot set up /dev links: ${err.message}`);
    }
    throw err;
  } finally {
    sc.close(dev);
  }
}
