/**
 * The runtime-spec "features" document: what this build of denki implements. Only list a
 * feature here once it works end to end; an empty list or `false` tells callers "not
 * supported", which is the truth for everything the lifecycle issues have not built yet.
 */
import { DENKI_VERSION } from "./version.ts";
import { MAX_MINOR, MIN_MINOR } from "./spec/version.ts";
import { HOOK_KINDS, SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "./spec/config.ts";
import { SCMP_ARCHES } from "./plan/seccomp/tables.ts";
import { knownMountOptions } from "./plan/mount_options.ts";
import { CAPABILITIES } from "./plan/capabilities.ts";
import type { ExecutorRegistry } from "./executor_registry.ts";

/** Namespace types the Linux executor creates or joins. */
const NAMESPACES = ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"];

/** The features JSON object, in the runtime-spec's field order; executors as registered. */
export function features(
  executors: Pick<ExecutorRegistry, "names" | "annotations">,
): Record<string, unknown> {
  return {
    ociVersionMin: `1.${MIN_MINOR}.0`,
    ociVersionMax: `1.${MAX_MINOR}.0`,
    hooks: [...HOOK_KINDS],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: NAMESPACES,
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: Object.keys(SCMP_ARCHES),
        knownFlags: [...SECCOMP_FLAGS],
        // TSYNC is accepted and has nothing to do: the filter goes on the thread that execs.
        supportedFlags: [...SECCOMP_FLAGS],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      // Idmapped bind mounts (linux/idmap.ts); the kernel and file system may still refuse one.
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: false },
    },
    annotations: {
      "dev.denki.version": DENKI_VERSION,
      "dev.denki.deno.version": Deno.version.deno,
      "dev.denki.executors": [...executors.names].sort().join(","),
    },
    // These choose the executor: the workload then runs as Wasm, not as the ELF a caller
    // might expect from the same rootfs.
    potentiallyUnsafeConfigAnnotations: executors.annotations,
  };
}
