/**
 * The container's mounts: `planMounts` turns config mounts into plain values (flags, data,
 * propagation) that tests can read; `applyMount` performs one inside the root, with the
 * destination resolved by resolve.ts so it cannot leave the root.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { resolve as resolvePath } from "../paths.ts";
import { MS, parseMountOptions } from "../plan/mount_options.ts";
import type { IdMapping, Mount } from "../spec/config.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import * as sc from "../sys/syscalls.ts";
import { NON_CONTROLLER_OPTIONS } from "../cgroups/layout.ts";
import { copyUp } from "./copy_up.ts";
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
  /** tmpcopyup: the new tmpfs starts with a copy of the destination's contents. */
  copyUp: boolean;
  /** Propagation changes applied after mounting, in order. */
  propagation: number[];
  /** An idmapped mount (options idmap/ridmap, or mappings of its own): see linux/idmap.ts. */
  idmap?: MountIdmap | undefined;
}

/** How a mount is idmapped. */
export interface MountIdmap {
  /** ridmap: every mount of an rbind, not only the top one. */
  recursive: boolean;
  /** The mount's own maps; absent, the container's user namespace's are used. */
  uidMappings?: IdMapping[] | undefined;
  gidMappings?: IdMapping[] | undefined;
}

/**
 * A tmpfs takes the mode of the directory it covers unless the options set one (as runc
 * does; tmpfs's own default, 1777, would make /etc or /run writable by everyone). With
 * tmpcopyup it is mounted writable, filled with a copy of that directory, given its owner,
 * and only then made read-only if asked.
 */
function mountTmpfs(rootFd: number, step: MountStep, target: string): void {
  // Opened before the mount, this fd keeps reaching the directory underneath.
  const lower = sc.open(target, sc.O_RDONLY | sc.O_DIRECTORY | sc.O_CLOEXEC);
  try {
    const st = sc.statAt(lower, "");
    const hasMode = step.data.split(",").some((o) => o.startsWith("mode="));
    const mode = st === undefined || hasMode ? "" : `mode=${(st.mode & 0o7777).toString(8)}`;
    const data = [mode, step.data].filter((d) => d !== "").join(",");
    const ro = step.copyUp ? step.flags & MS.RDONLY : 0;
    sc.mount(step.source, target, "tmpfs", step.flags & ~ro, data || null);
    if (!step.copyUp) return;
    const upper = reopen(rootFd, step);
    try {
      copyUp(lower, upper, step.destination);
      if (st !== undefined) sc.fchownat(upper, "", st.uid, st.gid, sc.AT_EMPTY_PATH);
    } finally {
      sc.close(upper);
    }
    if (ro) {
      withFd(reopen(rootFd, step), (path) => {
        sc.mount(null, path, null, MS.REMOUNT | step.flags, data || null);
      });
    }
  } finally {
    sc.close(lower);
  }
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
    // Mappings without idmap or ridmap idmap the top mount only, as runc does.
    const idmap = opts.idmap !== undefined || m.uidMappings !== undefined ||
        m.gidMappings !== undefined
      ? {
        recursive: opts.idmap?.recursive ?? false,
        ...(m.uidMappings ? { uidMappings: m.uidMappings } : {}),
        ...(m.gidMappings ? { gidMappings: m.gidMappings } : {}),
      }
      : undefined;
    return {
      destination: m.destination.startsWith("/") ? m.destination : `/${m.destination}`,
      source: bind ? resolvePath(bundle, rawSource) : rawSource,
      type,
      flags: opts.flags,
      cleared: opts.cleared,
      data: opts.data.join(","),
      bind,
      recursive: opts.recursive,
      copyUp: opts.copyUp && type === "tmpfs",
      propagation: opts.propagation,
      ...(idmap ? { idmap } : {}),
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

/** Which namespaces of its own the container has, where a mount depends on them. */
export interface MountNamespaces {
  /** A new sysfs needs a network namespace of its own. */
  network: boolean;
  /** Without a cgroup namespace, /sys/fs/cgroup shows the container's own cgroups by bind. */
  cgroup: boolean;
}

/** Performs one planned mount inside the root. */
export function applyMount(rootFd: number, step: MountStep, ns: MountNamespaces): void {
  // create refuses these before a Deno init exists (linux/idmap.ts); never mount one plainly.
  if (step.idmap !== undefined) {
    throw new DenkiError(
      `cannot mount ${describe(step)}: idmapped mounts need denki's native init`,
    );
  }
  try {
    if (step.type === "cgroup" && !step.bind) {
      mountCgroup(rootFd, step, ns.cgroup);
    } else if (step.bind) {
      bindMount(rootFd, step);
    } else {
      try {
        withFd(openInRoot(rootFd, step.destination, "dir"), (target) => {
          if (step.type === "tmpfs") mountTmpfs(rootFd, step, target);
          else sc.mount(step.source, target, step.type, step.flags, step.data || null);
        });
      } catch (err) {
        // Only where a new sysfs is refused (EPERM without its own network namespace, in
        // user namespaces) is the host's bound instead, read-only like the one asked for.
        const refused = err instanceof SyscallError && err.errno === sc.Errno.EPERM;
        if (!(step.type === "sysfs" && !ns.network && refused)) throw err;
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

/** This process's cgroup in each hierarchy, from /proc/self/cgroup: controllers to path. */
export function parseOwnCgroups(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/**
 * The host directory of this process's own cgroup in hierarchy `h` ("" for the unified one),
 * or undefined when /proc/self/cgroup does not name it.
 */
function ownCgroupDir(h: HostCgroup, own: Map<string, string>): string | undefined {
  if (h.fstype === "cgroup2") {
    const path = own.get("");
    return path === undefined ? undefined : `${h.mountPoint}${path === "/" ? "" : path}`;
  }
  // Super options that are not controller names (xattr, clone_children, ...) do not appear
  // in /proc/self/cgroup.
  const wanted = h.options.split(",").filter((o) => o !== "" && !NON_CONTROLLER_OPTIONS.has(o))
    .sort()
    .join(",");
  for (const [controllers, path] of own) {
    if (controllers.split(",").sort().join(",") === wanted) {
      return `${h.mountPoint}${path === "/" ? "" : path}`;
    }
  }
  return undefined;
}

/**
 * Mounts /sys/fs/cgroup for the container. With a cgroup namespace, fresh cgroup mounts show
 * the container's own cgroup as their root. Without one a fresh mount would show the host's
 * whole tree, so (as runc does) the container's own directory of each hierarchy is bound in
 * instead: its limits are what /sys/fs/cgroup/memory shows. A unified (v2-only) host gets a
 * single cgroup2 mount; a v1 or hybrid host a tmpfs with one mount per host hierarchy.
 */
function mountCgroup(rootFd: number, step: MountStep, cgroupns: boolean): void {
  const host = parseCgroupMounts(readTextRaw("/proc/thread-self/mountinfo") ?? "");
  const own = parseOwnCgroups(readTextRaw("/proc/thread-self/cgroup") ?? "");
  const unifiedOnly = host.some((h) => h.fstype === "cgroup2" && h.mountPoint === "/sys/fs/cgroup");
  const flags = step.flags & ~MS.RDONLY;
  /** Mounts hierarchy `h` at `dest`: fresh in a cgroup namespace, else a bind of our own dir. */
  const mountOne = (h: HostCgroup, dest: string) => {
    const dir = cgroupns ? undefined : ownCgroupDir(h, own);
    // Without a cgroup namespace a fresh mount would show the host's whole tree: a hierarchy
    // the container has no cgroup of its own in is left out instead.
    if (!cgroupns && dir === undefined) return;
    withFd(openInRoot(rootFd, dest, "dir"), (target) => {
      if (dir !== undefined) sc.mount(dir, target, null, MS.BIND, null);
      else if (h.fstype === "cgroup2") sc.mount("cgroup2", target, "cgroup2", flags, null);
      else sc.mount("cgroup", target, "cgroup", flags, h.options);
    });
    if ((step.flags & MS.RDONLY) || dir !== undefined) {
      withFd(openInRoot(rootFd, dest, undefined), (target) => {
        const ro = step.flags & MS.RDONLY;
        sc.mount(null, target, null, MS.REMOUNT | MS.BIND | ro | flags, null);
      });
    }
  };
  if (unifiedOnly) {
    mountOne(host.find((h) => h.mountPoint === "/sys/fs/cgroup")!, step.destination);
    return;
  }
  withFd(openInRoot(rootFd, step.destination, "dir"), (target) => {
    sc.mount("tmpfs", target, "tmpfs", flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC), "mode=755");
  });
  for (const h of host) {
    if (!h.mountPoint.startsWith("/sys/fs/cgroup/")) continue;
    const name = h.mountPoint.slice("/sys/fs/cgroup/".length);
    if (name.includes("/")) continue;
    mountOne(h, `${step.destination}/${name}`);
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
