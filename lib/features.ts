/**
 * The runtime-spec "features" document: what this build of denki implements. Only list a
 * feature here once it works end to end; an empty list or `false` tells callers "not
 * supported", which is the truth for everything the lifecycle issues have not built yet.
 */
import { DENKI_VERSION } from "./version.ts";
import { MAX_MINOR, MIN_MINOR } from "./spec/version.ts";

/** The features JSON object, in the runtime-spec's field order. */
export function features(): Record<string, unknown> {
  return {
    ociVersionMin: `1.${MIN_MINOR}.0`,
    ociVersionMax: `1.${MAX_MINOR}.0`,
    hooks: [],
    mountOptions: [],
    linux: {
      namespaces: [],
      capabilities: [],
      cgroup: { v1: false, v2: false, systemd: false, systemdUser: false, rdma: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
      netDevices: { enabled: false },
    },
    annotations: {
      "dev.denki.version": DENKI_VERSION,
      "dev.denki.deno.version": Deno.version.deno,
    },
    potentiallyUnsafeConfigAnnotations: [],
  };
}
