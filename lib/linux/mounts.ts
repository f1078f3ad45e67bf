/**
 * The container's mounts: `planMounts` turns config mounts into plain values (flags, data,
 * propagation) that tests can read; `applyMount` performs one inside the root, with the
 * destination resolved by resolve.ts so it cannot leave the root.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { resolve as resolvePath } from "../paths.ts";
import { MS, parseMountOptions } from "../plan/mount_options.ts";
import type { Mount } from "../spec/config.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import * as sc from "../sys/syscalls.ts";
import { fdPath, openInRoot } from "./resolve.ts";

/** One mount, ready to apply. */
export interface MountStep {
  destination: string;
  /** For binds: an absolute host path (relative sources are taken from the bundle). */
  source: string;
  type: string;
  /** MS_* flags for the mount itself (without bind/propagation bits). */
  flags: number;
  /** Flags the options explicitly turned off (rw, suid, ...). */
  cleared: number;
  data: string;
  bind: boolean;
  recursive: boolean;
  /** Propagation changes applied after mounting, in order. */
  propagation: number[];
}

/** Flags a bind mount needs a second, remount call for. */
const REMOUNT_FLAGS = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME |
  MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;

/** atime flags are replaced, not merged, when the options name one. */
const ATIME = MS.NOATIME | MS.RELATIME | MS.STRICTATIME;

/** Plans the config's mounts in order (pure). */
export function planMounts(mounts: readonly Mount[], bundle: string): MountStep[] {
  return mounts.map((m) => {
    const opts = parseMountOptions(m.options ?? []);
    const type = m.type ?? (opts.bind ? "bind" : "none");
    const bind = opts.bind || type === "bind";
    const rawSource = m.source ?? type;
    return {
      destination: m.destination.startsWith("/") ? m.destination : `/${m.destination}`,
      source: bind ? resolvePath(bundle, rawSource) : rawSource,
      type,
      flags: opts.flags,
      cleared: opts.cleared,
      data: opts.data.join(","),
      bind,
      recursive: opts.recursive,
      propagation: opts.propagation,
    };
  });
}

function describe(step: MountStep): string {
  return `${step.type} ${JSON.stringify(step.source)} on ${JSON.stringify(step.destination)}`;
}

/** Re-opens a destination after mounting on it, to reach the new mount rather than what it hides. */
function reopen(rootFd: number, step: MountStep): number {
  return openInRoot(rootFd, step.destination, undefined);
}

function withFd<T>(fd: number, fn: (path: string) => T): T {
  try {
    return fn(fdPath(fd));
  } finally {
    sc.close(fd);
  }
}

/** Performs one planned mount inside the root. `hasNetns`: sysfs needs a network namespace. */
export function applyMount(rootFd: number, step: MountStep, hasNetns: boolean): void {
  try {
    if (step.type === "cgroup" && !step.bind) {
      mountCgroup(rootFd, step);
    } else if (step.bind) {
      bindMount(rootFd, step);
    } else {
      try {
        withFd(openInRoot(rootFd, step.destination, "dir"), (target) => {
          sc.mount(step.source, target, step.type, step.flags, step.data || null);
        });
      } catch (err) {
        // Only where a new sysfs is refused (EPERM without its own network namespace, in
        // user namespaces) is the host's bound instead, read-only like the one asked for.
        const refused = err instanceof SyscallError && err.errno === sc.Errno.EPERM;
        if (!(step.type === "sysfs" && !hasNetns && refused)) throw err;
        bindMount(rootFd, { ...step, source: "/sys", bind: true, recursive: true });
      }
    }
    for (const flags of step.propagation) {
      withFd(reopen(rootFd, step), (target) => sc.mount(null, target, null, flags, null));
    }
  } catch (err) {
    if (err instanceof SyscallError) {
      throw new DenkiError(`cannot mount ${describe(step)}: ${err.message}`);
    }
    throw err;
  }
}

function bindMount(rootFd: number, step: MountStep): void {
  const sourceType = sc.fileType(sc.AT_FDCWD, step.source, 0);
  if (sourceType === undefined) {
    throw new DenkiError(`cannot mount ${describe(step)}: the source does not exist`);
  }
  const kind = sourceType === sc.S_IFDIR ? "dir" : "file";
  withFd(openInRoot(rootFd, step.destination, kind), (target) => {
    sc.mount(step.source, target, null, MS.BIND | (step.recursive ? MS.REC : 0), null);
  });
  // Bind mounts ignore most flags on the first call; a remount applies them.
  if ((step.flags & REMOUNT_FLAGS) !== 0) {
    withFd(reopen(rootFd, step), (target) => {
      // Keep the flags the bind copied from its source unless the options turn them off.
      const kept = sc.mountFlags(target) & REMOUNT_FLAGS & ~ATIME & ~step.cleared;
      sc.mount(
        null,
        target,
        null,
        MS.BIND | MS.REMOUNT | kept | (step.flags & REMOUNT_FLAGS),
        null,
      );
    });
  }
}

/** A cgroup hierarchy mounted on the host. */
interface HostCgroup {
  /** Mount point on the host, e.g. /sys/fs/cgroup/cpu. */
  mountPoint: string;
  fstype: "cgroup" | "cgroup2";
  /** Super options of a v1 hierarchy: its controllers and name= (e.g. "cpu" or "name=systemd"). */
  options: string;
}

/** cgroup mounts from /proc/self/mountinfo (fields after " - " are fstype, source, options). */
export function parseCgroupMounts(mountinfo: string): HostCgroup[] {
  const out: HostCgroup[] = [];
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (pre === undefined || post === undefined) continue;
    const mountPoint = pre.split(" ")[4];
    const [fstype, , superOpts] = post.split(" ");
    if (mountPoint === undefined || (fstype !== "cgroup" && fstype !== "cgroup2")) continue;
    const options = (superOpts ?? "").split(",").filter((o) => o !== "rw" && o !== "ro").join(",");
    out.push({ mountPoint, fstype, options });
  }
  return out;
}

/**
 * Mounts /sys/fs/cgroup for the container. A unified (v2-only) host gets a cgroup2 mount; a
 * v1 or hybrid host gets a tmpfs with one cgroup mount per host hierarchy, each seen through
 * the container's cgroup namespace.
 */
function mountCgroup(rootFd: number, step: MountStep): void {
  const host = parseCgroupMounts(readTextRaw("/proc/thread-self/mountinfo") ?? "");
  const unifiedOnly = host.some((h) => h.fstype === "cgroup2" && h.mountPoint === "/sys/fs/cgroup");
  const flags = step.flags & ~MS.RDONLY;
  if (unifiedOnly) {
    withFd(openInRoot(rootFd, step.destination, "dir"), (target) => {
      sc.mount("cgroup2", target, "cgroup2", step.flags, null);
    });
    return;
  }
  withFd(openInRoot(rootFd, step.destination, "dir"), (target) => {
    sc.mount("tmpfs", target, "tmpfs", flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC), "mode=755");
  });
  for (const h of host) {
    if (!h.mountPoint.startsWith("/sys/fs/cgroup/")) continue;
    const name = h.mountPoint.slice("/sys/fs/cgroup/".length);
    if (name.includes("/")) continue;
    const dest = `${step.destination}/${name}`;
    withFd(openInRoot(rootFd, dest, "dir"), (target) => {
      if (h.fstype === "cgroup2") sc.mount("cgroup2", target, "cgroup2", flags, null);
      else sc.mount("cgroup", target, "cgroup", flags, h.options);
    });
    if (step.flags & MS.RDONLY) {
      withFd(openInRoot(rootFd, dest, undefined), (target) => {
        sc.mount(null, target, null, MS.REMOUNT | MS.BIND | MS.RDONLY | flags, null);
      });
    }
  }
  if (step.flags & MS.RDONLY) {
    withFd(openInRoot(rootFd, step.destination, undefined), (target) => {
      sc.mount(
        null,
        target,
        null,
        MS.REMOUNT | MS.RDONLY | (flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC)),
        "mode=755",
      );
    });
  }
}
