/**
 * The Kubernetes CRI (package runtime.v1) configuration messages (a pod sandbox's and a
 * container's, and what they share), as schemas for denki's
 * own protobuf codec (lib/shim/proto/wire.ts); messages.ts re-exports them. Field numbers follow the cri-api that containerd
 * v1.6.20 vendors (k8s.io/cri-api/pkg/apis/runtime/v1/api.proto). TypeScript names are the proto
 * names in camelCase; int64/uint64 are bigint; enums are numbers (the consts below). Windows-only
 * fields and deprecated ones are left out: the codec skips unknown fields on decode.
 * Test support only: never import this from lib/, executors/, main.ts or bin/.
 */
import {
  bool,
  enm,
  i32,
  i64,
  map,
  message,
  msg,
  rep,
  str,
  u32,
  u64,
} from "../../../lib/shim/proto/fields.ts";
import type { Schema } from "../../../lib/shim/proto/wire.ts";

const P = "runtime.v1.";

// --- enums ----------------------------------------------------------------------------------

/** runtime.v1.Protocol. */
export const Protocol = { TCP: 0, UDP: 1, SCTP: 2 } as const;
/** runtime.v1.MountPropagation. */
export const MountPropagation = {
  PROPAGATION_PRIVATE: 0,
  PROPAGATION_HOST_TO_CONTAINER: 1,
  PROPAGATION_BIDIRECTIONAL: 2,
} as const;
/** runtime.v1.NamespaceMode: POD shares the sandbox's, NODE the host's namespace. */
export const NamespaceMode = { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 } as const;
/** runtime.v1.SecurityProfile.ProfileType. */
export const ProfileType = { RuntimeDefault: 0, Unconfined: 1, Localhost: 2 } as const;
/** runtime.v1.PodSandboxState. */
export const PodSandboxState = { SANDBOX_READY: 0, SANDBOX_NOTREADY: 1 } as const;
/** runtime.v1.ContainerState. */
export const ContainerState = {
  CONTAINER_CREATED: 0,
  CONTAINER_RUNNING: 1,
  CONTAINER_EXITED: 2,
  CONTAINER_UNKNOWN: 3,
} as const;

// --- small shared messages ------------------------------------------------------------------

/** runtime.v1.Int64Value (an optional int64). */
export interface Int64Value {
  value: bigint;
}
export const Int64Value: Schema<Int64Value> = message(P + "Int64Value", [i64(1, "value")]);

/** runtime.v1.KeyValue (an environment variable). */
export interface KeyValue {
  key: string;
  value: string;
}
export const KeyValue: Schema<KeyValue> = message(P + "KeyValue", [
  str(1, "key"),
  str(2, "value"),
]);

/** runtime.v1.ImageSpec. */
export interface ImageSpec {
  image: string;
  annotations: Record<string, string>;
}
export const ImageSpec: Schema<ImageSpec> = message(P + "ImageSpec", [
  str(1, "image"),
  map(2, "annotations"),
]);

/** runtime.v1.Mount. */
export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  selinuxRelabel: boolean;
  /** A MountPropagation value. */
  propagation: number;
}
export const Mount: Schema<Mount> = message(P + "Mount", [
  str(1, "containerPath"),
  str(2, "hostPath"),
  bool(3, "readonly"),
  bool(4, "selinuxRelabel"),
  enm(5, "propagation"),
]);

/** runtime.v1.IDMapping. */
export interface IDMapping {
  hostId: number;
  containerId: number;
  length: number;
}
export const IDMapping: Schema<IDMapping> = message(P + "IDMapping", [
  u32(1, "hostId"),
  u32(2, "containerId"),
  u32(3, "length"),
]);

/** runtime.v1.UserNamespace. */
export interface UserNamespace {
  /** A NamespaceMode value (NODE: the host's; POD: the pod's own, with the mappings). */
  mode: number;
  uids: IDMapping[];
  gids: IDMapping[];
}
export const UserNamespace: Schema<UserNamespace> = message(P + "UserNamespace", [
  enm(1, "mode"),
  rep(msg(2, "uids", () => IDMapping)),
  rep(msg(3, "gids", () => IDMapping)),
]);

/** runtime.v1.NamespaceOption; the modes are NamespaceMode values. */
export interface NamespaceOption {
  network: number;
  pid: number;
  ipc: number;
  targetId: string;
  usernsOptions?: UserNamespace | undefined;
}
export const NamespaceOption: Schema<NamespaceOption> = message(P + "NamespaceOption", [
  enm(1, "network"),
  enm(2, "pid"),
  enm(3, "ipc"),
  str(4, "targetId"),
  msg(5, "usernsOptions", () => UserNamespace),
]);

/** runtime.v1.SELinuxOption. */
export interface SELinuxOption {
  user: string;
  role: string;
  type: string;
  level: string;
}
export const SELinuxOption: Schema<SELinuxOption> = message(P + "SELinuxOption", [
  str(1, "user"),
  str(2, "role"),
  str(3, "type"),
  str(4, "level"),
]);

/** runtime.v1.SecurityProfile. */
export interface SecurityProfile {
  /** A ProfileType value. */
  profileType: number;
  localhostRef: string;
}
export const SecurityProfile: Schema<SecurityProfile> = message(P + "SecurityProfile", [
  enm(1, "profileType"),
  str(2, "localhostRef"),
]);

/** runtime.v1.HugepageLimit. */
export interface HugepageLimit {
  pageSize: string;
  limit: bigint;
}
export const HugepageLimit: Schema<HugepageLimit> = message(P + "HugepageLimit", [
  str(1, "pageSize"),
  u64(2, "limit"),
]);

/** runtime.v1.LinuxContainerResources. */
export interface LinuxContainerResources {
  cpuPeriod: bigint;
  cpuQuota: bigint;
  cpuShares: bigint;
  memoryLimitInBytes: bigint;
  oomScoreAdj: bigint;
  cpusetCpus: string;
  cpusetMems: string;
  hugepageLimits: HugepageLimit[];
  unified: Record<string, string>;
  memorySwapLimitInBytes: bigint;
}
export const LinuxContainerResources: Schema<LinuxContainerResources> = message(
  P + "LinuxContainerResources",
  [
    i64(1, "cpuPeriod"),
    i64(2, "cpuQuota"),
    i64(3, "cpuShares"),
    i64(4, "memoryLimitInBytes"),
    i64(5, "oomScoreAdj"),
    str(6, "cpusetCpus"),
    str(7, "cpusetMems"),
    rep(msg(8, "hugepageLimits", () => HugepageLimit)),
    map(9, "unified"),
    i64(10, "memorySwapLimitInBytes"),
  ],
);

// --- the pod sandbox's configuration --------------------------------------------------------

/** runtime.v1.DNSConfig. */
export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}
export const DNSConfig: Schema<DNSConfig> = message(P + "DNSConfig", [
  rep(str(1, "servers")),
  rep(str(2, "searches")),
  rep(str(3, "options")),
]);

/** runtime.v1.PortMapping. */
export interface PortMapping {
  /** A Protocol value. */
  protocol: number;
  containerPort: number;
  hostPort: number;
  hostIp: string;
}
export const PortMapping: Schema<PortMapping> = message(P + "PortMapping", [
  enm(1, "protocol"),
  i32(2, "containerPort"),
  i32(3, "hostPort"),
  str(4, "hostIp"),
]);

/** runtime.v1.LinuxSandboxSecurityContext. */
export interface LinuxSandboxSecurityContext {
  namespaceOptions?: NamespaceOption | undefined;
  selinuxOptions?: SELinuxOption | undefined;
  runAsUser?: Int64Value | undefined;
  runAsGroup?: Int64Value | undefined;
  readonlyRootfs: boolean;
  supplementalGroups: bigint[];
  privileged: boolean;
  seccomp?: SecurityProfile | undefined;
  apparmor?: SecurityProfile | undefined;
}
export const LinuxSandboxSecurityContext: Schema<LinuxSandboxSecurityContext> = message(
  P + "LinuxSandboxSecurityContext",
  [
    msg(1, "namespaceOptions", () => NamespaceOption),
    msg(2, "selinuxOptions", () => SELinuxOption),
    msg(3, "runAsUser", () => Int64Value),
    bool(4, "readonlyRootfs"),
    rep(i64(5, "supplementalGroups")),
    bool(6, "privileged"),
    msg(8, "runAsGroup", () => Int64Value),
    msg(9, "seccomp", () => SecurityProfile),
    msg(10, "apparmor", () => SecurityProfile),
  ],
);

/** runtime.v1.LinuxPodSandboxConfig. */
export interface LinuxPodSandboxConfig {
  cgroupParent: string;
  securityContext?: LinuxSandboxSecurityContext | undefined;
  sysctls: Record<string, string>;
  overhead?: LinuxContainerResources | undefined;
  resources?: LinuxContainerResources | undefined;
}
export const LinuxPodSandboxConfig: Schema<LinuxPodSandboxConfig> = message(
  P + "LinuxPodSandboxConfig",
  [
    str(1, "cgroupParent"),
    msg(2, "securityContext", () => LinuxSandboxSecurityContext),
    map(3, "sysctls"),
    msg(4, "overhead", () => LinuxContainerResources),
    msg(5, "resources", () => LinuxContainerResources),
  ],
);

/** runtime.v1.PodSandboxMetadata. */
export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}
export const PodSandboxMetadata: Schema<PodSandboxMetadata> = message(P + "PodSandboxMetadata", [
  str(1, "name"),
  str(2, "uid"),
  str(3, "namespace"),
  u32(4, "attempt"),
]);

/** runtime.v1.PodSandboxConfig (without the Windows part). */
export interface PodSandboxConfig {
  metadata?: PodSandboxMetadata | undefined;
  hostname: string;
  logDirectory: string;
  dnsConfig?: DNSConfig | undefined;
  portMappings: PortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  linux?: LinuxPodSandboxConfig | undefined;
}
export const PodSandboxConfig: Schema<PodSandboxConfig> = message(P + "PodSandboxConfig", [
  msg(1, "metadata", () => PodSandboxMetadata),
  str(2, "hostname"),
  str(3, "logDirectory"),
  msg(4, "dnsConfig", () => DNSConfig),
  rep(msg(5, "portMappings", () => PortMapping)),
  map(6, "labels"),
  map(7, "annotations"),
  msg(8, "linux", () => LinuxPodSandboxConfig),
]);

// --- the container's configuration ----------------------------------------------------------

/** runtime.v1.Capability. */
export interface Capability {
  addCapabilities: string[];
  dropCapabilities: string[];
  addAmbientCapabilities: string[];
}
export const Capability: Schema<Capability> = message(P + "Capability", [
  rep(str(1, "addCapabilities")),
  rep(str(2, "dropCapabilities")),
  rep(str(3, "addAmbientCapabilities")),
]);

/** runtime.v1.LinuxContainerSecurityContext (without the deprecated profile paths). */
export interface LinuxContainerSecurityContext {
  capabilities?: Capability | undefined;
  privileged: boolean;
  namespaceOptions?: NamespaceOption | undefined;
  selinuxOptions?: SELinuxOption | undefined;
  runAsUser?: Int64Value | undefined;
  runAsGroup?: Int64Value | undefined;
  runAsUsername: string;
  readonlyRootfs: boolean;
  supplementalGroups: bigint[];
  noNewPrivs: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  seccomp?: SecurityProfile | undefined;
  apparmor?: SecurityProfile | undefined;
}
export const LinuxContainerSecurityContext: Schema<LinuxContainerSecurityContext> = message(
  P + "LinuxContainerSecurityContext",
  [
    msg(1, "capabilities", () => Capability),
    bool(2, "privileged"),
    msg(3, "namespaceOptions", () => NamespaceOption),
    msg(4, "selinuxOptions", () => SELinuxOption),
    msg(5, "runAsUser", () => Int64Value),
    str(6, "runAsUsername"),
    bool(7, "readonlyRootfs"),
    rep(i64(8, "supplementalGroups")),
    bool(11, "noNewPrivs"),
    msg(12, "runAsGroup", () => Int64Value),
    rep(str(13, "maskedPaths")),
    rep(str(14, "readonlyPaths")),
    msg(15, "seccomp", () => SecurityProfile),
    msg(16, "apparmor", () => SecurityProfile),
  ],
);

/** runtime.v1.LinuxContainerConfig. */
export interface LinuxContainerConfig {
  resources?: LinuxContainerResources | undefined;
  securityContext?: LinuxContainerSecurityContext | undefined;
}
export const LinuxContainerConfig: Schema<LinuxContainerConfig> = message(
  P + "LinuxContainerConfig",
  [
    msg(1, "resources", () => LinuxContainerResources),
    msg(2, "securityContext", () => LinuxContainerSecurityContext),
  ],
);

/** runtime.v1.ContainerMetadata. */
export interface ContainerMetadata {
  name: string;
  attempt: number;
}
export const ContainerMetadata: Schema<ContainerMetadata> = message(P + "ContainerMetadata", [
  str(1, "name"),
  u32(2, "attempt"),
]);

/** runtime.v1.Device. */
export interface Device {
  containerPath: string;
  hostPath: string;
  permissions: string;
}
export const Device: Schema<Device> = message(P + "Device", [
  str(1, "containerPath"),
  str(2, "hostPath"),
  str(3, "permissions"),
]);

/** runtime.v1.ContainerConfig (without the Windows part). */
export interface ContainerConfig {
  metadata?: ContainerMetadata | undefined;
  image?: ImageSpec | undefined;
  command: string[];
  args: string[];
  workingDir: string;
  envs: KeyValue[];
  mounts: Mount[];
  devices: Device[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Relative to the sandbox's logDirectory. */
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  linux?: LinuxContainerConfig | undefined;
}
export const ContainerConfig: Schema<ContainerConfig> = message(P + "ContainerConfig", [
  msg(1, "metadata", () => ContainerMetadata),
  msg(2, "image", () => ImageSpec),
  rep(str(3, "command")),
  rep(str(4, "args")),
  str(5, "workingDir"),
  rep(msg(6, "envs", () => KeyValue)),
  rep(msg(7, "mounts", () => Mount)),
  rep(msg(8, "devices", () => Device)),
  map(9, "labels"),
  map(10, "annotations"),
  str(11, "logPath"),
  bool(12, "stdin"),
  bool(13, "stdinOnce"),
  bool(14, "tty"),
  msg(15, "linux", () => LinuxContainerConfig),
]);
