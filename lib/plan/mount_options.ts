/**
 * Mount options (mounts[].options) as data: each known option sets or clears MS_* flags, or is
 * a propagation change or a recursive attribute; anything else is file-system data (size=,
 * mode=, ...) passed to mount(2) as the data string.
 */

/** MS_* flags of mount(2). */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** The flags that describe atime behaviour (one of them replaces the others). */
export const ATIME_FLAGS = MS.NOATIME | MS.RELATIME | MS.STRICTATIME;

/** What one option does. */
export type OptionEffect =
  | { kind: "flag"; set: number; clear?: number }
  | { kind: "clear"; clear: number }
  | { kind: "propagation"; flags: number }
  | { kind: "bind"; recursive: boolean }
  | { kind: "copyup" }
  | { kind: "idmap"; recursive: boolean }
  | { kind: "ignore" };

/** Every option denki understands (the runtime-spec's Linux table). */
export const MOUNT_OPTIONS: Readonly<Record<string, OptionEffect>> = {
  defaults: { kind: "ignore" },
  async: { kind: "clear", clear: MS.SYNCHRONOUS },
  sync: { kind: "flag", set: MS.SYNCHRONOUS },
  atime: { kind: "clear", clear: MS.NOATIME },
  noatime: { kind: "flag", set: MS.NOATIME, clear: MS.RELATIME | MS.STRICTATIME },
  relatime: { kind: "flag", set: MS.RELATIME, clear: MS.NOATIME | MS.STRICTATIME },
  norelatime: { kind: "clear", clear: MS.RELATIME },
  strictatime: { kind: "flag", set: MS.STRICTATIME, clear: MS.NOATIME | MS.RELATIME },
  nostrictatime: { kind: "clear", clear: MS.STRICTATIME },
  diratime: { kind: "clear", clear: MS.NODIRATIME },
  nodiratime: { kind: "flag", set: MS.NODIRATIME },
  dev: { kind: "clear", clear: MS.NODEV },
  nodev: { kind: "flag", set: MS.NODEV },
  exec: { kind: "clear", clear: MS.NOEXEC },
  noexec: { kind: "flag", set: MS.NOEXEC },
  suid: { kind: "clear", clear: MS.NOSUID },
  nosuid: { kind: "flag", set: MS.NOSUID },
  ro: { kind: "flag", set: MS.RDONLY },
  rw: { kind: "clear", clear: MS.RDONLY },
  dirsync: { kind: "flag", set: MS.DIRSYNC },
  mand: { kind: "flag", set: MS.MANDLOCK },
  nomand: { kind: "clear", clear: MS.MANDLOCK },
  lazytime: { kind: "flag", set: MS.LAZYTIME },
  nolazytime: { kind: "clear", clear: MS.LAZYTIME },
  iversion: { kind: "ignore" },
  noiversion: { kind: "ignore" },
  silent: { kind: "flag", set: MS.SILENT },
  loud: { kind: "clear", clear: MS.SILENT },
  symfollow: { kind: "clear", clear: MS.NOSYMFOLLOW },
  nosymfollow: { kind: "flag", set: MS.NOSYMFOLLOW },
  remount: { kind: "flag", set: MS.REMOUNT },
  bind: { kind: "bind", recursive: false },
  rbind: { kind: "bind", recursive: true },
  private: { kind: "propagation", flags: MS.PRIVATE },
  rprivate: { kind: "propagation", flags: MS.PRIVATE | MS.REC },
  shared: { kind: "propagation", flags: MS.SHARED },
  rshared: { kind: "propagation", flags: MS.SHARED | MS.REC },
  slave: { kind: "propagation", flags: MS.SLAVE },
  rslave: { kind: "propagation", flags: MS.SLAVE | MS.REC },
  unbindable: { kind: "propagation", flags: MS.UNBINDABLE },
  runbindable: { kind: "propagation", flags: MS.UNBINDABLE | MS.REC },
  // A tmpfs that starts with a copy of the directory it covers (podman, crun, runc).
  tmpcopyup: { kind: "copyup" },
  // An idmapped mount (mount_setattr MOUNT_ATTR_IDMAP), of the top mount or of every one.
  idmap: { kind: "idmap", recursive: false },
  ridmap: { kind: "idmap", recursive: true },
};

/** A mount's options, resolved: flags for mount(2), propagation changes, and the data string. */
export interface ParsedOptions {
  flags: number;
  /** Flags the options explicitly cleared (rw, dev, ...): they win over defaults. */
  cleared: number;
  propagation: number[];
  bind: boolean;
  recursive: boolean;
  /** tmpcopyup: fill the new tmpfs with what the destination held. */
  copyUp: boolean;
  /** idmap or ridmap: the mount gets an id mapping (never passed to mount(2)). */
  idmap?: { recursive: boolean } | undefined;
  data: string[];
}

/** Turns an options list into flags, propagation and data, in order (later options win). */
export function parseMountOptions(options: readonly string[]): ParsedOptions {
  const out: ParsedOptions = {
    flags: 0,
    cleared: 0,
    propagation: [],
    bind: false,
    recursive: false,
    copyUp: false,
    data: [],
  };
  for (const opt of options) {
    const effect = MOUNT_OPTIONS[opt];
    if (effect === undefined) {
      out.data.push(opt);
      continue;
    }
    switch (effect.kind) {
      case "flag":
        out.flags = (out.flags & ~(effect.clear ?? 0)) | effect.set;
        out.cleared &= ~effect.set;
        break;
      case "clear":
        out.flags &= ~effect.clear;
        out.cleared |= effect.clear;
        break;
      case "propagation":
        out.propagation.push(effect.flags);
        break;
      case "bind":
        out.bind = true;
        out.recursive ||= effect.recursive;
        break;
      case "copyup":
        out.copyUp = true;
        break;
      case "idmap":
        out.idmap = { recursive: effect.recursive };
        break;
      case "ignore":
        break;
    }
  }
  return out;
}

/** Names of the options denki recognizes, for `features`. */
export function knownMountOptions(): string[] {
  return Object.keys(MOUNT_OPTIONS).sort();
}

/** MOUNT_ATTR_* of mount_setattr(2) (the new mount API's per-mount flags). */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  NOSYMFOLLOW: 0x200000,
} as const;

/**
 * The mount_setattr(2) change that gives a mount the per-mount flags `flags` asks for and
 * takes away those `cleared` names, leaving every other flag as the mount has it (what a
 * bind remount with the flags it already had would do). Superblock flags are not per mount.
 */
export function mountAttrChange(flags: number, cleared: number): { set: number; clr: number } {
  let set = 0;
  let clr = 0;
  const pairs: [number, number][] = [
    [MS.RDONLY, MOUNT_ATTR.RDONLY],
    [MS.NOSUID, MOUNT_ATTR.NOSUID],
    [MS.NODEV, MOUNT_ATTR.NODEV],
    [MS.NOEXEC, MOUNT_ATTR.NOEXEC],
    [MS.NODIRATIME, MOUNT_ATTR.NODIRATIME],
    [MS.NOSYMFOLLOW, MOUNT_ATTR.NOSYMFOLLOW],
  ];
  for (const [ms, attr] of pairs) {
    if (flags & ms) set |= attr;
    else if (cleared & ms) clr |= attr;
  }
  // The atime mode is one value: naming one replaces the mount's.
  if (flags & ATIME_FLAGS) {
    clr |= MOUNT_ATTR.ATIME;
    if (flags & MS.NOATIME) set |= MOUNT_ATTR.NOATIME;
    else if (flags & MS.STRICTATIME) set |= MOUNT_ATTR.STRICTATIME;
  } else if (cleared & ATIME_FLAGS) {
    clr |= MOUNT_ATTR.ATIME;
  }
  return { set, clr };
}
