/**
 * The container's root file system, in the init's own mount namespace: propagation, the root
 * bind mount, the configured mounts, /dev, the switch to the new root (pivot_root, or MS_MOVE +
 * chroot with --no-pivot), then masked and read-only paths and a read-only root. A container
 * without a mount namespace gets the configured mounts and /dev under its rootfs in the host's
 * table (recorded, see host_mounts.ts) and a chroot.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { MS } from "../plan/mount_options.ts";
import type { Spec } from "../spec/config.ts";
import { MNT_DETACH } from "../plan/abi.ts";
import * as sc from "../sys/syscalls.ts";
import { createDevice, createDevLinks, devicePlan } from "./devices.ts";
import { applyMount, planMounts } from "./mounts.ts";
import { fdPath, openInRoot, openRoot } from "./resolve.ts";
import type { MountBook } from "./host_mounts.ts";
import { readTextRaw } from "../sys/rawfs.ts";

/** Propagation flags of linux.rootfsPropagation (the r forms are recursive). */
export const PROPAGATION: Record<string, number> = {
  shared: MS.SHARED,
  slave: MS.SLAVE,
  private: MS.PRIVATE,
  unbindable: MS.UNBINDABLE,
  rshared: MS.SHARED | MS.REC,
  rslave: MS.SLAVE | MS.REC,
  rprivate: MS.PRIVATE | MS.REC,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** proc and sysfs mount points outside the rootfs, deepest first (unmounted by --no-pivot). */
export function hostProcAndSys(mountinfo: string, rootfs: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    const mp = pre?.split(" ")[4];
    const fstype = post?.split(" ")[0];
    if (mp === undefined || (fstype !== "proc" && fstype !== "sysfs")) continue;
    if (mp === rootfs || mp.startsWith(`${rootfs}/`)) continue;
    out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** The mount point holding `path`'s parent directory, from this thread's mount table. */
export function parentMountPoint(mountinfo: string, path: string): string {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  let best = "/";
  for (const line of mountinfo.split("\n")) {
    const mp = line.split(" ")[4];
    if (mp === undefined) continue;
    const holds = mp === "/" || dir === mp || dir.startsWith(`${mp}/`);
    if (holds && mp.length > best.length) best = mp;
  }
  return best;
}

function fail(what: string, err: unknown): never {
  if (err instanceof SyscallError) throw new DenkiError(`${what}: ${err.message}`);
  throw err;
}

/**
 * Mounts everything into the rootfs while the host's file system is still reachable.
 * Returns an O_PATH fd of the root (closed by `switchRoot`). With a `book` the container has
 * no mount namespace: nothing of the host's propagation changes and the rootfs does not
 * become a mount point; each mount is made under it in the host's table, recorded by the book.
 */
export function prepareRootfs(
  spec: Spec,
  rootfs: string,
  bundle: string,
  book?: MountBook,
): number {
  if (book === undefined) prepareOwnRoot(spec, rootfs);
  const rootFd = openRoot(rootfs);
  const around = (points: string[], fn: () => void) => book ? book.around(points, fn) : fn();
  const types = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
  const ns = { network: types.has("network"), cgroup: types.has("cgroup") };
  const steps = planMounts(spec.mounts ?? [], bundle);
  for (const step of steps) around([step.destination], () => applyMount(rootFd, step, ns));
  // A /dev bound from elsewhere (the host's, in "host devices" setups) is not ours to fill.
  if (!steps.some((s) => s.destination === "/dev" && s.bind)) {
    // Without CAP_MKNOD a device is bound from the host: a mount, recorded like the others.
    const devices = devicePlan(spec.linux?.devices ?? []);
    around(devices.map((d) => d.path), () => {
      for (const dev of devices) createDevice(rootFd, dev);
    });
    createDevLinks(rootFd);
  }
  book?.flush();
  const cwd = spec.process?.cwd;
  if (cwd !== undefined) {
    try {
      sc.close(openInRoot(rootFd, cwd, "dir"));
    } catch (err) {
      fail(`cannot create process.cwd ${cwd}`, err);
    }
  }
  return rootFd;
}

/** Propagation and the root bind, in the container's own mount namespace. */
function prepareOwnRoot(spec: Spec, rootfs: string): void {
  try {
    // As runc: the configured propagation for "/" (default rslave, so nothing mounted from
    // here on reaches the host), then a private parent for the root, which pivot_root needs
    // and which keeps the container's own mounts (proc, dev, ...) out of the host's table.
    const propagation = spec.linux?.rootfsPropagation;
    sc.mount(null, "/", null, propagation ? PROPAGATION[propagation]! : MS.SLAVE | MS.REC, null);
    const mountinfo = readTextRaw("/proc/thread-self/mountinfo") ?? "";
    sc.mount(null, parentMountPoint(mountinfo, rootfs), null, MS.PRIVATE, null);
    // The root must be a mount point for pivot_root.
    sc.mount(rootfs, rootfs, null, MS.BIND | MS.REC, null);
  } catch (err) {
    fail(`cannot prepare rootfs ${rootfs}`, err);
  }
}

/**
 * Makes the rootfs the process's root and detaches the old root entirely. `chrootOnly`: the
 * container has no mount namespace, so there is no old root to detach (it is the host's):
 * a plain chroot, as runc does there, with or without --no-pivot.
 */
export function switchRoot(
  rootFd: number,
  rootfs: string,
  noPivot: boolean,
  chrootOnly = false,
): void {
  if (chrootOnly) {
    try {
      sc.fchdir(rootFd);
      sc.close(rootFd);
      sc.chroot(".");
      sc.chdir("/");
    } catch (err) {
      fail(`cannot chroot into rootfs ${rootfs}`, err);
    }
    return;
  }
  try {
    sc.fchdir(rootFd);
    sc.close(rootFd);
    if (noPivot) {
      // A chroot keeps the old root reachable; at least take away the host's proc and sysfs,
      // which would otherwise let the container reach host processes and devices (as runc).
      const mountinfo = readTextRaw("/proc/thread-self/mountinfo") ?? "";
      for (const mp of hostProcAndSys(mountinfo, rootfs)) {
        try {
          sc.umount2(mp, MNT_DETACH);
        } catch {
          sc.mount("tmpfs", mp, "tmpfs", 0, null);
        }
      }
      sc.mount(rootfs, "/", null, MS.MOVE, null);
      sc.chroot(".");
    } else {
      sc.pivotRoot(".", ".");
      // The old root is now stacked on "/". Its mounts were made slaves before anything was
      // mounted, so detaching it cannot reach the host; a second rslave here would also
      // reset the propagation the config asked for on the container's own mounts.
      sc.umount2(".", MNT_DETACH);
    }
    sc.chdir("/");
  } catch (err) {
    fail(`cannot switch to rootfs ${rootfs}${noPivot ? " (--no-pivot)" : ""}`, err);
  }
}

/** After the switch: the root's propagation (before anything else is mounted under it). */
export function setRootPropagation(spec: Spec): void {
  const propagation = spec.linux?.rootfsPropagation;
  if (propagation === undefined) return;
  try {
    sc.mount(null, "/", null, PROPAGATION[propagation]!, null);
  } catch (err) {
    fail(`cannot set rootfs propagation ${propagation}`, err);
  }
}

/**
 * The last file-system steps, after sysctls (which need a writable /proc/sys): masked and
 * read-only paths, then a read-only root.
 */
export function lockDownRootfs(spec: Spec): void {
  const linux = spec.linux ?? {};
  const root = sc.open("/", sc.O_PATH | sc.O_DIRECTORY | sc.O_CLOEXEC);
  try {
    for (const path of linux.maskedPaths ?? []) maskPath(root, path);
    for (const path of linux.readonlyPaths ?? []) readonlyPath(root, path);
  } finally {
    sc.close(root);
  }
  if (spec.root?.readonly) {
    try {
      sc.mount(null, "/", null, MS.BIND | MS.REMOUNT | MS.RDONLY | keptFlags("/"), null);
    } catch (err) {
      fail("cannot make the rootfs read-only", err);
    }
  }
}

/** nosuid, nodev, noexec and atime flags of the mount at `path`, kept across a remount. */
function keptFlags(path: string): number {
  return sc.mountFlags(path) & (MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME |
    MS.RELATIME | MS.STRICTATIME);
}

/** Opens a path that may not exist; undefined when it does not. */
function openExisting(root: number, path: string): number | undefined {
  try {
    return openInRoot(root, path, undefined);
  } catch (err) {
    if (err instanceof SyscallError && err.errno === sc.Errno.ENOENT) return undefined;
    throw err;
  }
}

function maskPath(root: number, path: string): void {
  const fd = openExisting(root, path);
  if (fd === undefined) return;
  try {
    const isDir = sc.fileType(fd, "", sc.AT_EMPTY_PATH) === sc.S_IFDIR;
    if (isDir) sc.mount("tmpfs", fdPath(fd), "tmpfs", MS.RDONLY, "size=0k");
    else sc.mount("/dev/null", fdPath(fd), null, MS.BIND, null);
  } catch (err) {
    fail(`cannot mask ${path}`, err);
  } finally {
    sc.close(fd);
  }
}

function readonlyPath(root: number, path: string): void {
  const fd = openExisting(root, path);
  if (fd === undefined) return;
  try {
    sc.mount(fdPath(fd), fdPath(fd), null, MS.BIND | MS.REC, null);
  } catch (err) {
    sc.close(fd);
    fail(`cannot make ${path} read-only`, err);
  }
  sc.close(fd);
  const again = openInRoot(root, path, undefined);
  try {
    const flags = MS.BIND | MS.REMOUNT | MS.RDONLY | keptFlags(fdPath(again));
    sc.mount(null, fdPath(again), null, flags, null);
  } catch (err) {
    fail(`cannot make ${path} read-only`, err);
  } finally {
    sc.close(again);
  }
}
