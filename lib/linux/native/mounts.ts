/**
 * The native init's mounts and device nodes: each configured mount (fresh file systems, binds
 * with their per-mount flags set by mount_setattr, /sys/fs/cgroup), the device nodes and the
 * /dev links, as stage steps. Targets are reached inside the root only (emit.ts).
 */
import {
  AT_EMPTY_PATH,
  AT_SYMLINK_NOFOLLOW,
  O_CLOEXEC,
  O_CREAT,
  O_PATH,
  O_WRONLY,
  oNofollow,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
} from "../../plan/abi.ts";
import { Errno } from "../../plan/errno.ts";
import { mountAttrChange, MS } from "../../plan/mount_options.ts";
import type { Slot } from "../../spawn/script.ts";
import type { Device } from "../../spec/config.ts";
import { DEV_LINKS, makedev } from "../devices.ts";
import type { Emit } from "./emit.ts";
import type { CgroupView, NativePlan, PlannedMount } from "./plan.ts";

const WHO = "denki init";
const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH = 0x40;
/** Flags a bind mount needs a second step (mount_setattr) for. */
const PER_MOUNT = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME |
  MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;

function describe(m: PlannedMount): string {
  return `cannot mount ${m.type} ${JSON.stringify(m.source)} on ${JSON.stringify(m.destination)}`;
}

/** mount_setattr(fd, "", AT_EMPTY_PATH, {set, clr}): per-mount flags, keeping the others. */
export function setattr(e: Emit, fd: Slot, flags: number, cleared: number, what: string): void {
  const { set, clr } = mountAttrChange(flags, cleared);
  if (set === 0 && clr === 0) return;
  const attr = e.s.words([set, clr, 0, 0]);
  e.s.call("mount_setattr", [fd, e.str(""), AT_EMPTY_PATH, attr, 32], `${WHO}: ${what}`);
}

export function mountOne(e: Emit, root: Slot, m: PlannedMount, p: NativePlan): void {
  const s = e.s;
  const what = describe(m);
  if (m.type === "cgroup" && !m.bind) {
    cgroupMount(e, root, m, p.cgroups, p.newCgroupNs);
  } else if (m.idmapTree !== undefined) {
    moveTree(e, root, m, m.idmapTree);
  } else if (m.bind) {
    bind(e, root, m, m.source, m.recursive, m.sourceIsDir ?? true);
  } else {
    const target = e.openIn(root, m.at, "dir", what);
    let data = m.data;
    if (m.type === "tmpfs" && m.coveredMode !== undefined && !/(^|,)mode=/.test(data)) {
      data = [`mode=${m.coveredMode.toString(8)}`, data].filter((d) => d !== "").join(",");
    }
    // A new sysfs is refused without a network namespace of its own: the host's is bound.
    const fallback = m.type === "sysfs" && !p.newNetworkNs ? s.label() : undefined;
    const done = s.label();
    e.mount(m.source, e.fdPath(target), m.type, m.flags, data || null, what, {
      ...(fallback ? { onError: fallback } : {}),
    });
    if (fallback) {
      s.jump(done);
      s.bind(fallback);
      bind(e, root, m, "/sys", true, true);
    }
    s.bind(done);
    e.close(target);
  }
  for (const flags of m.propagation) {
    const target = e.openIn(root, m.at, undefined, what);
    e.mount(null, e.fdPath(target), null, flags, null, what);
    e.close(target);
  }
}

function bind(
  e: Emit,
  root: Slot,
  m: PlannedMount,
  source: string,
  recursive: boolean,
  isDir: boolean,
): void {
  const what = describe(m);
  const target = e.openIn(root, m.at, isDir ? "dir" : "file", what);
  e.mount(source, e.fdPath(target), null, MS.BIND | (recursive ? MS.REC : 0), null, what);
  e.close(target);
  perMountFlags(e, root, m, what);
}

/**
 * An idmapped bind: the detached copy of the source that `create` made and idmapped (only the
 * host's root may idmap a host file system, so the init cannot), moved onto the destination.
 */
function moveTree(e: Emit, root: Slot, m: PlannedMount, tree: number): void {
  const what = describe(m);
  const target = e.openIn(root, m.at, m.sourceIsDir ?? true ? "dir" : "file", what);
  e.s.call(
    "move_mount",
    [tree, e.str(""), target, e.str(""), MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH],
    `${WHO}: ${what}`,
  );
  e.s.call("close", [tree], "close the idmapped copy", { ignore: true });
  e.close(target);
  perMountFlags(e, root, m, what);
}

/** Bind mounts ignore most flags on the first call: they are set on the new mount. */
function perMountFlags(e: Emit, root: Slot, m: PlannedMount, what: string): void {
  if ((m.flags & PER_MOUNT) !== 0 || (m.cleared & PER_MOUNT) !== 0) {
    const again = e.openIn(root, m.at, undefined, what);
    setattr(e, again, m.flags & PER_MOUNT, m.cleared & PER_MOUNT, what);
    e.close(again);
  }
}

/**
 * /sys/fs/cgroup: with a cgroup namespace, fresh cgroup mounts (their root is the container's
 * cgroup); without one, binds of the container's own directories (a fresh mount would show
 * the host's whole tree). A v2-only host gets one cgroup2 mount, others a tmpfs with one mount
 * per hierarchy.
 */
function cgroupMount(e: Emit, root: Slot, m: PlannedMount, view: CgroupView, ns: boolean): void {
  const what = describe(m);
  const flags = m.flags & ~MS.RDONLY;
  // `open(create)` opens the mount point: made and opened below the root, or below `tmpfs`.
  const one = (h: CgroupView["host"][number], open: (create: boolean) => Slot) => {
    const dir = ns ? undefined : view.own[h.mountPoint];
    if (!ns && dir === undefined) return;
    const target = open(true);
    if (dir !== undefined) e.mount(dir, e.fdPath(target), null, MS.BIND, null, what);
    else if (h.fstype === "cgroup2") {
      e.mount("cgroup2", e.fdPath(target), "cgroup2", flags, null, what);
    } else e.mount("cgroup", e.fdPath(target), "cgroup", flags, h.options, what);
    e.close(target);
    if ((m.flags & MS.RDONLY) || dir !== undefined) {
      const again = open(false);
      setattr(e, again, (m.flags & MS.RDONLY) | flags, 0, what);
      e.close(again);
    }
  };
  if (view.unifiedOnly) {
    one(
      view.host.find((h) => h.mountPoint === "/sys/fs/cgroup")!,
      (create) => e.openIn(root, m.at, create ? "dir" : undefined, what),
    );
    return;
  }
  const base = e.openIn(root, m.at, "dir", what);
  e.mount(
    "tmpfs",
    e.fdPath(base),
    "tmpfs",
    flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC),
    "mode=755",
    what,
  );
  e.close(base);
  // The fresh tmpfs holds one directory per hierarchy, each made right below it (no walk from
  // the root: nothing of the image is in a tmpfs this init just mounted).
  const tmpfs = e.openIn(root, m.at, undefined, what);
  for (const h of view.host) {
    if (!h.mountPoint.startsWith("/sys/fs/cgroup/")) continue;
    const name = h.mountPoint.slice("/sys/fs/cgroup/".length);
    if (name.includes("/")) continue;
    one(h, () => e.dirBelow(tmpfs, name, what));
  }
  e.close(tmpfs);
  if (m.flags & MS.RDONLY) {
    const top = e.openIn(root, m.at, undefined, what);
    setattr(e, top, MS.RDONLY, 0, what);
    e.close(top);
  }
}

const TYPE_BITS: Record<Device["type"], number> = {
  c: S_IFCHR,
  u: S_IFCHR,
  b: S_IFBLK,
  p: S_IFIFO,
};

/** One device node; an entry already there is left alone, as runc does. */
export function device(e: Emit, root: Slot, d: Device): void {
  const s = e.s;
  const i = d.path.lastIndexOf("/");
  const dir = d.path.slice(0, i) || "/";
  const name = e.str(d.path.slice(i + 1));
  const what = `cannot create device ${d.path}`;
  const parent = e.openIn(root, dir, "dir", what);
  const done = s.label();
  const fallback = s.label();
  s.call("newfstatat", [parent, name, s.zeros(256), AT_SYMLINK_NOFOLLOW], `${WHO}: ${what}`, {
    onOk: done,
    ignore: true,
  });
  const mode = (d.fileMode ?? 0o666) & 0o7777;
  const rdev = d.type === "p" ? 0n : makedev(Number(d.major ?? 0), Number(d.minor ?? 0));
  s.call("mknodat", [parent, name, TYPE_BITS[d.type] | mode, rdev], `${WHO}: ${what}`, {
    ...(d.type === "p" ? {} : { onError: fallback }),
  });
  // mknod applies the umask: set the exact mode, then the owner.
  s.call("fchmodat", [parent, name, mode], `${WHO}: ${what}`);
  s.call(
    "fchownat",
    [parent, name, d.uid ?? 0, d.gid ?? 0, AT_SYMLINK_NOFOLLOW],
    `${WHO}: ${what}`,
  );
  s.jump(done);
  // Without CAP_MKNOD (or on a nodev mount) the host's device is bound instead.
  s.bind(fallback);
  const file = s.slot();
  s.call(
    "openat",
    [parent, name, O_CREAT | O_WRONLY | oNofollow(e.arch) | O_CLOEXEC, 0o644],
    `${WHO}: ${what}`,
    { into: file },
  );
  e.close(file);
  const target = s.slot();
  s.call("openat", [parent, name, O_PATH | oNofollow(e.arch) | O_CLOEXEC], `${WHO}: ${what}`, {
    into: target,
  });
  e.mount(d.path, e.fdPath(target), null, MS.BIND, null, what);
  e.close(target);
  s.bind(done);
  e.close(parent);
}

/** The standard /dev links that are not there yet (ptmx: always a link to pts/ptmx). */
export function devLinks(e: Emit, root: Slot): void {
  const s = e.s;
  const dev = e.openIn(root, "/dev", "dir", "cannot set up /dev links");
  for (const [name, target] of DEV_LINKS) {
    if (name === "ptmx") {
      s.call("unlinkat", [dev, s.str(name), 0], `${WHO}: cannot set up /dev links`, {
        ok: [Errno.ENOENT],
      });
    }
    s.call("symlinkat", [s.str(target), dev, s.str(name)], `${WHO}: cannot set up /dev links`, {
      ok: [Errno.EEXIST],
    });
  }
  e.close(dev);
}
