/**
 * The OCI runtime-spec config.json (1.0.0 to 1.3.x) as schemas, with the TypeScript types
 * inferred from them. Covers the root, process, mounts, hooks, annotations and linux sections;
 * the windows, solaris, vm, zos and freebsd sections are kept as unknown fields (denki runs
 * Linux and Wasm workloads only). Field meanings: the runtime-spec's config.md and
 * config-linux.md.
 */
import { arr, bool, type Infer, int, int64, map, obj, oneOf, opt, req, str } from "./schema.ts";

/** Namespace types (time since 1.1.0). */
export const NAMESPACE_TYPES = [
  "pid",
  "network",
  "mount",
  "ipc",
  "uts",
  "user",
  "cgroup",
  "time",
] as const;

/** Seccomp actions. */
export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
] as const;

/** Seccomp argument comparison operators. */
export const SECCOMP_OPERATORS = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
] as const;

/** Seccomp architecture names (libseccomp's). */
export const SECCOMP_ARCHS = [
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",
  "SCMP_ARCH_SH",
  "SCMP_ARCH_SHEB",
] as const;

/** Seccomp filter flags. */
export const SECCOMP_FLAGS = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
] as const;

/**
 * Mount propagation of the container's root: the runtime-spec's four values, and their
 * recursive forms, which runc accepts and containerd sends (rslave, rshared).
 */
export const ROOTFS_PROPAGATIONS = [
  "shared",
  "slave",
  "private",
  "unbindable",
  "rshared",
  "rslave",
  "rprivate",
  "runbindable",
] as const;

/** The hook lists, in the order they run in a container's life. */
export const HOOK_KINDS = [
  "prestart",
  "createRuntime",
  "createContainer",
  "startContainer",
  "poststart",
  "poststop",
] as const;

const idMapping = obj({
  containerID: req(int("uint32")),
  hostID: req(int("uint32")),
  size: req(int("uint32")),
});

const hook = obj({
  path: req(str()),
  args: opt(arr(str())),
  env: opt(arr(str())),
  timeout: opt(int("int32")),
});

const user = obj({
  uid: req(int("uint32")),
  gid: req(int("uint32")),
  umask: opt(int("uint32")),
  additionalGids: opt(arr(int("uint32"))),
  username: opt(str()),
});

const capabilities = obj({
  bounding: opt(arr(str())),
  effective: opt(arr(str())),
  inheritable: opt(arr(str())),
  permitted: opt(arr(str())),
  ambient: opt(arr(str())),
});

const rlimit = obj({
  type: req(str()),
  soft: req(int64("uint64")),
  hard: req(int64("uint64")),
});

const scheduler = obj({
  policy: req(oneOf(
    "SCHED_OTHER",
    "SCHED_FIFO",
    "SCHED_RR",
    "SCHED_BATCH",
    "SCHED_ISO",
    "SCHED_IDLE",
    "SCHED_DEADLINE",
  )),
  nice: opt(int("int32")),
  priority: opt(int("int32")),
  flags: opt(arr(oneOf(
    "SCHED_FLAG_RESET_ON_FORK",
    "SCHED_FLAG_RECLAIM",
    "SCHED_FLAG_DL_OVERRUN",
    "SCHED_FLAG_KEEP_POLICY",
    "SCHED_FLAG_KEEP_PARAMS",
    "SCHED_FLAG_UTIL_CLAMP_MIN",
    "SCHED_FLAG_UTIL_CLAMP_MAX",
  ))),
  runtime: opt(int64("uint64")),
  deadline: opt(int64("uint64")),
  period: opt(int64("uint64")),
});

/** The schema of `process` (also what `exec --process` reads). */
export const processSchema = obj({
  terminal: opt(bool()),
  consoleSize: opt(obj({ height: req(int("uint32")), width: req(int("uint32")) })),
  cwd: req(str()),
  env: opt(arr(str())),
  args: opt(arr(str())),
  commandLine: opt(str()),
  user: opt(user),
  rlimits: opt(arr(rlimit)),
  apparmorProfile: opt(str()),
  capabilities: opt(capabilities),
  noNewPrivileges: opt(bool()),
  oomScoreAdj: opt(int("int32")),
  selinuxLabel: opt(str()),
  scheduler: opt(scheduler),
  ioPriority: opt(obj({
    class: req(oneOf("IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE")),
    priority: opt(int("int32")),
  })),
  execCPUAffinity: opt(obj({ initial: opt(str()), final: opt(str()) })),
});

const mount = obj({
  destination: req(str()),
  source: opt(str()),
  options: opt(arr(str())),
  type: opt(str()),
  uidMappings: opt(arr(idMapping)),
  gidMappings: opt(arr(idMapping)),
});

const device = obj({
  type: req(oneOf("c", "b", "u", "p")),
  path: req(str()),
  major: opt(int64("int64")),
  minor: opt(int64("int64")),
  fileMode: opt(int("uint32")),
  uid: opt(int("uint32")),
  gid: opt(int("uint32")),
});

const deviceRule = obj({
  allow: req(bool()),
  type: opt(oneOf("a", "c", "b")),
  major: opt(int64("int64")),
  minor: opt(int64("int64")),
  access: opt(str()),
});

const weightDevice = obj({
  major: req(int64("int64")),
  minor: req(int64("int64")),
  weight: opt(int("uint16")),
  leafWeight: opt(int("uint16")),
});

const throttleDevice = obj({
  major: req(int64("int64")),
  minor: req(int64("int64")),
  rate: req(int64("uint64")),
});

/** The schema of `linux.resources` (also what `update --resources` reads). */
export const resourcesSchema = obj({
  devices: opt(arr(deviceRule)),
  memory: opt(obj({
    limit: opt(int64("int64")),
    reservation: opt(int64("int64")),
    swap: opt(int64("int64")),
    kernel: opt(int64("int64")),
    kernelTCP: opt(int64("int64")),
    swappiness: opt(int64("uint64")),
    disableOOMKiller: opt(bool()),
    useHierarchy: opt(bool()),
    checkBeforeUpdate: opt(bool()),
  })),
  cpu: opt(obj({
    shares: opt(int64("uint64")),
    quota: opt(int64("int64")),
    burst: opt(int64("uint64")),
    period: opt(int64("uint64")),
    realtimeRuntime: opt(int64("int64")),
    realtimePeriod: opt(int64("uint64")),
    cpus: opt(str()),
    mems: opt(str()),
    idle: opt(int64("int64")),
  })),
  pids: opt(obj({ limit: opt(int64("int64")) })),
  blockIO: opt(obj({
    weight: opt(int("uint16")),
    leafWeight: opt(int("uint16")),
    weightDevice: opt(arr(weightDevice)),
    throttleReadBpsDevice: opt(arr(throttleDevice)),
    throttleWriteBpsDevice: opt(arr(throttleDevice)),
    throttleReadIOPSDevice: opt(arr(throttleDevice)),
    throttleWriteIOPSDevice: opt(arr(throttleDevice)),
  })),
  hugepageLimits: opt(arr(obj({ pageSize: req(str()), limit: req(int64("uint64")) }))),
  network: opt(obj({
    classID: opt(int("uint32")),
    priorities: opt(arr(obj({ name: req(str()), priority: req(int("uint32")) }))),
  })),
  rdma: opt(map(obj({ hcaHandles: opt(int("uint32")), hcaObjects: opt(int("uint32")) }))),
  unified: opt(map(str())),
});

const seccomp = obj({
  defaultAction: req(oneOf(...SECCOMP_ACTIONS)),
  defaultErrnoRet: opt(int("uint32")),
  architectures: opt(arr(oneOf(...SECCOMP_ARCHS))),
  flags: opt(arr(oneOf(...SECCOMP_FLAGS))),
  listenerPath: opt(str()),
  listenerMetadata: opt(str()),
  syscalls: opt(arr(obj({
    names: req(arr(str())),
    action: req(oneOf(...SECCOMP_ACTIONS)),
    errnoRet: opt(int("uint32")),
    args: opt(arr(obj({
      index: req(int("uint32")),
      value: req(int64("uint64")),
      valueTwo: opt(int64("uint64")),
      op: req(oneOf(...SECCOMP_OPERATORS)),
    }))),
  }))),
});

const linux = obj({
  namespaces: opt(arr(obj({ type: req(oneOf(...NAMESPACE_TYPES)), path: opt(str()) }))),
  uidMappings: opt(arr(idMapping)),
  gidMappings: opt(arr(idMapping)),
  timeOffsets: opt(map(obj({ secs: opt(int64("int64")), nanosecs: opt(int("uint32")) }))),
  devices: opt(arr(device)),
  netDevices: opt(map(obj({ name: opt(str()) }))),
  cgroupsPath: opt(str()),
  resources: opt(resourcesSchema),
  intelRdt: opt(obj({
    closID: opt(str()),
    l3CacheSchema: opt(str()),
    memBwSchema: opt(str()),
    schemata: opt(arr(str())),
    enableMonitoring: opt(bool()),
  })),
  memoryPolicy: opt(obj({
    mode: req(oneOf(
      "MPOL_DEFAULT",
      "MPOL_BIND",
      "MPOL_INTERLEAVE",
      "MPOL_WEIGHTED_INTERLEAVE",
      "MPOL_PREFERRED",
      "MPOL_PREFERRED_MANY",
      "MPOL_LOCAL",
    )),
    nodes: opt(str()),
    flags: opt(arr(oneOf("MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"))),
  })),
  sysctl: opt(map(str())),
  seccomp: opt(seccomp),
  rootfsPropagation: opt(oneOf(...ROOTFS_PROPAGATIONS)),
  maskedPaths: opt(arr(str())),
  readonlyPaths: opt(arr(str())),
  mountLabel: opt(str()),
  personality: opt(obj({ domain: req(oneOf("LINUX", "LINUX32")), flags: opt(arr(str())) })),
});

const hooks = obj({
  prestart: opt(arr(hook)),
  createRuntime: opt(arr(hook)),
  createContainer: opt(arr(hook)),
  startContainer: opt(arr(hook)),
  poststart: opt(arr(hook)),
  poststop: opt(arr(hook)),
});

/** The schema of a whole config.json. */
export const specSchema = obj({
  ociVersion: req(str()),
  root: opt(obj({ path: req(str()), readonly: opt(bool()) })),
  mounts: opt(arr(mount)),
  process: opt(processSchema),
  hostname: opt(str()),
  domainname: opt(str()),
  hooks: opt(hooks),
  annotations: opt(map(str())),
  linux: opt(linux),
});

/** A parsed config.json. */
export type Spec = Infer<typeof specSchema>;
/** `process`. */
export type Process = Infer<typeof processSchema>;
/** `process.user`. */
export type User = Infer<typeof user>;
/** One entry of `mounts`. */
export type Mount = Infer<typeof mount>;
/** One hook. */
export type Hook = Infer<typeof hook>;
/** `hooks`. */
export type Hooks = Infer<typeof hooks>;
/** `linux`. */
export type Linux = Infer<typeof linux>;
/** `linux.resources`. */
export type Resources = Infer<typeof resourcesSchema>;
/** `linux.seccomp`. */
export type Seccomp = Infer<typeof seccomp>;
/** One uid/gid mapping. */
export type IdMapping = Infer<typeof idMapping>;
/** One entry of `linux.devices`. */
export type Device = Infer<typeof device>;
/** A namespace type name. */
export type NamespaceType = typeof NAMESPACE_TYPES[number];
/** A seccomp action name. */
export type SeccompAction = typeof SECCOMP_ACTIONS[number];
