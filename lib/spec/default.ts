/**
 * The config.json that `denki spec` writes: the same container as `runc spec` (a busybox-style
 * `sh` in its own namespaces with a small capability set), plus a cgroup namespace as newer
 * runc versions add, and hostname "denki".
 */
import { OCI_SPEC_VERSION } from "../version.ts";
import type { Mount, Spec } from "./config.ts";

const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/** Paths hidden from the container (bind-mounted over with /dev/null or an empty tmpfs). */
export const DEFAULT_MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
];

/** Paths made read-only inside the container. */
export const DEFAULT_READONLY_PATHS = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

function defaultMounts(rootless: boolean): Mount[] {
  const ptsOptions = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"];
  // gid=5 (tty) only exists inside the container when the user namespace maps it.
  if (!rootless) ptsOptions.push("gid=5");
  const mounts: Mount[] = [
    { destination: "/proc", type: "proc", source: "proc" },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ptsOptions },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    // Without its own network namespace a rootless container cannot mount a new sysfs.
    rootless
      ? {
        destination: "/sys",
        type: "none",
        source: "/sys",
        options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
      }
      : {
        destination: "/sys",
        type: "sysfs",
        source: "sysfs",
        options: ["nosuid", "noexec", "nodev", "ro"],
      },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
  return mounts;
}

/** Builds the default config; `rootless` maps the caller's uid/gid to root in a user namespace. */
export function defaultSpec(opts: { rootless: boolean; uid: number; gid: number }): Spec {
  const spec: Spec = {
    ociVersion: OCI_SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
        ambient: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "denki",
    mounts: defaultMounts(opts.rootless),
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [
        { type: "pid" },
        { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "cgroup" },
      ],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
  if (opts.rootless) {
    const linux = spec.linux!;
    delete linux.resources;
    linux.uidMappings = [{ containerID: 0, hostID: opts.uid, size: 1 }];
    linux.gidMappings = [{ containerID: 0, hostID: opts.gid, size: 1 }];
    // A rootless container shares the host network (it may not create interfaces).
    linux.namespaces = [...linux.namespaces!.filter((n) => n.type !== "network"), {
      type: "user",
    }];
  }
  return spec;
}
