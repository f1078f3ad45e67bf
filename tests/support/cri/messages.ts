/**
 * The Kubernetes CRI (package runtime.v1) requests and responses of the RPCs the tests call, as
 * schemas for denki's own protobuf codec (lib/shim/proto/wire.ts); the configuration messages
 * they carry are in config.ts and the image service's messages in images.ts, both re-exported
 * here. Field numbers follow the cri-api that containerd v1.6.20 vendors
 * (k8s.io/cri-api/pkg/apis/runtime/v1/api.proto). TypeScript names are the proto names in
 * camelCase; int64/uint64 are bigint; enums are numbers.
 * Test support only: never import this from lib/, executors/, main.ts or bin/.
 */
import {
  bool,
  bytes,
  enm,
  i32,
  i64,
  map,
  message,
  msg,
  rep,
  str,
} from "../../../lib/shim/proto/fields.ts";
import type { Schema } from "../../../lib/shim/proto/wire.ts";
import {
  ContainerConfig,
  ContainerMetadata,
  ImageSpec,
  LinuxContainerResources,
  Mount,
  NamespaceOption,
  PodSandboxConfig,
  PodSandboxMetadata,
} from "./config.ts";

export * from "./config.ts";
export * from "./images.ts";

const P = "runtime.v1.";

/** A message without fields (every Stop/Remove/Start response). */
export type Empty = Record<never, never>;
/** An empty response, under any of the proto's names for it. */
export const Empty: Schema<Empty> = message(P + "Empty", []);

// --- Version / Status -----------------------------------------------------------------------

export interface VersionRequest {
  version: string;
}
export const VersionRequest: Schema<VersionRequest> = message(P + "VersionRequest", [
  str(1, "version"),
]);

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}
export const VersionResponse: Schema<VersionResponse> = message(P + "VersionResponse", [
  str(1, "version"),
  str(2, "runtimeName"),
  str(3, "runtimeVersion"),
  str(4, "runtimeApiVersion"),
]);

export interface StatusRequest {
  verbose: boolean;
}
export const StatusRequest: Schema<StatusRequest> = message(P + "StatusRequest", [
  bool(1, "verbose"),
]);

/** runtime.v1.RuntimeCondition, e.g. type "RuntimeReady" or "NetworkReady". */
export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}
export const RuntimeCondition: Schema<RuntimeCondition> = message(P + "RuntimeCondition", [
  str(1, "type"),
  bool(2, "status"),
  str(3, "reason"),
  str(4, "message"),
]);

export interface RuntimeStatus {
  conditions: RuntimeCondition[];
}
export const RuntimeStatus: Schema<RuntimeStatus> = message(P + "RuntimeStatus", [
  rep(msg(1, "conditions", () => RuntimeCondition)),
]);

export interface StatusResponse {
  status?: RuntimeStatus | undefined;
  /** With verbose: JSON strings, e.g. "config" (the CRI plugin's configuration). */
  info: Record<string, string>;
}
export const StatusResponse: Schema<StatusResponse> = message(P + "StatusResponse", [
  msg(1, "status", () => RuntimeStatus),
  map(2, "info"),
]);

// --- pod sandboxes --------------------------------------------------------------------------

export interface RunPodSandboxRequest {
  config?: PodSandboxConfig | undefined;
  /** The RuntimeClass handler: a runtime name in containerd's CRI config ("" = default). */
  runtimeHandler: string;
}
export const RunPodSandboxRequest: Schema<RunPodSandboxRequest> = message(
  P + "RunPodSandboxRequest",
  [msg(1, "config", () => PodSandboxConfig), str(2, "runtimeHandler")],
);

/** Names a pod sandbox (RunPodSandboxResponse, Stop/RemovePodSandboxRequest). */
export interface PodSandboxRef {
  podSandboxId: string;
}
export const PodSandboxRef: Schema<PodSandboxRef> = message(P + "PodSandboxRef", [
  str(1, "podSandboxId"),
]);

export interface PodSandboxStatusRequest {
  podSandboxId: string;
  verbose: boolean;
}
export const PodSandboxStatusRequest: Schema<PodSandboxStatusRequest> = message(
  P + "PodSandboxStatusRequest",
  [str(1, "podSandboxId"), bool(2, "verbose")],
);

/** runtime.v1.PodSandboxNetworkStatus (PodIP flattened to its one field). */
export interface PodSandboxNetworkStatus {
  ip: string;
  additionalIps: { ip: string }[];
}
const PodIP: Schema<{ ip: string }> = message(P + "PodIP", [str(1, "ip")]);
export const PodSandboxNetworkStatus: Schema<PodSandboxNetworkStatus> = message(
  P + "PodSandboxNetworkStatus",
  [str(1, "ip"), rep(msg(2, "additionalIps", () => PodIP))],
);

/** runtime.v1.LinuxPodSandboxStatus: namespaces.options is the sandbox's NamespaceOption. */
export interface LinuxPodSandboxStatus {
  namespaces?: { options?: NamespaceOption | undefined } | undefined;
}
const Namespace: Schema<{ options?: NamespaceOption | undefined }> = message(P + "Namespace", [
  msg(2, "options", () => NamespaceOption),
]);
export const LinuxPodSandboxStatus: Schema<LinuxPodSandboxStatus> = message(
  P + "LinuxPodSandboxStatus",
  [msg(1, "namespaces", () => Namespace)],
);

/** runtime.v1.PodSandboxStatus. */
export interface PodSandboxStatus {
  id: string;
  metadata?: PodSandboxMetadata | undefined;
  /** A PodSandboxState value. */
  state: number;
  /** Nanoseconds since the epoch. */
  createdAt: bigint;
  network?: PodSandboxNetworkStatus | undefined;
  linux?: LinuxPodSandboxStatus | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}
export const PodSandboxStatus: Schema<PodSandboxStatus> = message(P + "PodSandboxStatus", [
  str(1, "id"),
  msg(2, "metadata", () => PodSandboxMetadata),
  enm(3, "state"),
  i64(4, "createdAt"),
  msg(5, "network", () => PodSandboxNetworkStatus),
  msg(6, "linux", () => LinuxPodSandboxStatus),
  map(7, "labels"),
  map(8, "annotations"),
  str(9, "runtimeHandler"),
]);

export interface PodSandboxStatusResponse {
  status?: PodSandboxStatus | undefined;
  /** With verbose: containerd's "info" JSON (pid, runtime options, the OCI spec...). */
  info: Record<string, string>;
}
export const PodSandboxStatusResponse: Schema<PodSandboxStatusResponse> = message(
  P + "PodSandboxStatusResponse",
  [msg(1, "status", () => PodSandboxStatus), map(2, "info")],
);

/** runtime.v1.PodSandboxFilter (the state as PodSandboxStateValue, flattened). */
export interface PodSandboxFilter {
  id: string;
  state?: { state: number } | undefined;
  labelSelector: Record<string, string>;
}
const PodSandboxStateValue: Schema<{ state: number }> = message(P + "PodSandboxStateValue", [
  enm(1, "state"),
]);
export const PodSandboxFilter: Schema<PodSandboxFilter> = message(P + "PodSandboxFilter", [
  str(1, "id"),
  msg(2, "state", () => PodSandboxStateValue),
  map(3, "labelSelector"),
]);

export interface ListPodSandboxRequest {
  filter?: PodSandboxFilter | undefined;
}
export const ListPodSandboxRequest: Schema<ListPodSandboxRequest> = message(
  P + "ListPodSandboxRequest",
  [msg(1, "filter", () => PodSandboxFilter)],
);

/** runtime.v1.PodSandbox (a list entry). */
export interface PodSandbox {
  id: string;
  metadata?: PodSandboxMetadata | undefined;
  state: number;
  createdAt: bigint;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}
export const PodSandbox: Schema<PodSandbox> = message(P + "PodSandbox", [
  str(1, "id"),
  msg(2, "metadata", () => PodSandboxMetadata),
  enm(3, "state"),
  i64(4, "createdAt"),
  map(5, "labels"),
  map(6, "annotations"),
  str(7, "runtimeHandler"),
]);

export interface ListPodSandboxResponse {
  items: PodSandbox[];
}
export const ListPodSandboxResponse: Schema<ListPodSandboxResponse> = message(
  P + "ListPodSandboxResponse",
  [rep(msg(1, "items", () => PodSandbox))],
);

// --- containers -----------------------------------------------------------------------------

export interface CreateContainerRequest {
  podSandboxId: string;
  config?: ContainerConfig | undefined;
  /** The sandbox's config, as given to RunPodSandbox (containerd reads e.g. logDirectory). */
  sandboxConfig?: PodSandboxConfig | undefined;
}
export const CreateContainerRequest: Schema<CreateContainerRequest> = message(
  P + "CreateContainerRequest",
  [
    str(1, "podSandboxId"),
    msg(2, "config", () => ContainerConfig),
    msg(3, "sandboxConfig", () => PodSandboxConfig),
  ],
);

/** Names a container (CreateContainerResponse, Start/RemoveContainerRequest). */
export interface ContainerRef {
  containerId: string;
}
export const ContainerRef: Schema<ContainerRef> = message(P + "ContainerRef", [
  str(1, "containerId"),
]);

export interface StopContainerRequest {
  containerId: string;
  /** Seconds to wait after SIGTERM before SIGKILL. */
  timeout: bigint;
}
export const StopContainerRequest: Schema<StopContainerRequest> = message(
  P + "StopContainerRequest",
  [str(1, "containerId"), i64(2, "timeout")],
);

/** runtime.v1.ContainerFilter (the state as ContainerStateValue, flattened). */
export interface ContainerFilter {
  id: string;
  state?: { state: number } | undefined;
  podSandboxId: string;
  labelSelector: Record<string, string>;
}
const ContainerStateValue: Schema<{ state: number }> = message(P + "ContainerStateValue", [
  enm(1, "state"),
]);
export const ContainerFilter: Schema<ContainerFilter> = message(P + "ContainerFilter", [
  str(1, "id"),
  msg(2, "state", () => ContainerStateValue),
  str(3, "podSandboxId"),
  map(4, "labelSelector"),
]);

export interface ListContainersRequest {
  filter?: ContainerFilter | undefined;
}
export const ListContainersRequest: Schema<ListContainersRequest> = message(
  P + "ListContainersRequest",
  [msg(1, "filter", () => ContainerFilter)],
);

/** runtime.v1.Container (a list entry). */
export interface Container {
  id: string;
  podSandboxId: string;
  metadata?: ContainerMetadata | undefined;
  image?: ImageSpec | undefined;
  imageRef: string;
  /** A ContainerState value. */
  state: number;
  createdAt: bigint;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export const Container: Schema<Container> = message(P + "Container", [
  str(1, "id"),
  str(2, "podSandboxId"),
  msg(3, "metadata", () => ContainerMetadata),
  msg(4, "image", () => ImageSpec),
  str(5, "imageRef"),
  enm(6, "state"),
  i64(7, "createdAt"),
  map(8, "labels"),
  map(9, "annotations"),
]);

export interface ListContainersResponse {
  containers: Container[];
}
export const ListContainersResponse: Schema<ListContainersResponse> = message(
  P + "ListContainersResponse",
  [rep(msg(1, "containers", () => Container))],
);

export interface ContainerStatusRequest {
  containerId: string;
  verbose: boolean;
}
export const ContainerStatusRequest: Schema<ContainerStatusRequest> = message(
  P + "ContainerStatusRequest",
  [str(1, "containerId"), bool(2, "verbose")],
);

/** runtime.v1.ContainerResources (Linux part). */
export interface ContainerResources {
  linux?: LinuxContainerResources | undefined;
}
export const ContainerResources: Schema<ContainerResources> = message(
  P + "ContainerResources",
  [msg(1, "linux", () => LinuxContainerResources)],
);

/** runtime.v1.ContainerStatus; times are nanoseconds since the epoch (0: not yet). */
export interface ContainerStatus {
  id: string;
  metadata?: ContainerMetadata | undefined;
  /** A ContainerState value. */
  state: number;
  createdAt: bigint;
  startedAt: bigint;
  finishedAt: bigint;
  exitCode: number;
  image?: ImageSpec | undefined;
  imageRef: string;
  /** e.g. "Completed" (exit 0), "Error", "OOMKilled". */
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  logPath: string;
  resources?: ContainerResources | undefined;
}
export const ContainerStatus: Schema<ContainerStatus> = message(P + "ContainerStatus", [
  str(1, "id"),
  msg(2, "metadata", () => ContainerMetadata),
  enm(3, "state"),
  i64(4, "createdAt"),
  i64(5, "startedAt"),
  i64(6, "finishedAt"),
  i32(7, "exitCode"),
  msg(8, "image", () => ImageSpec),
  str(9, "imageRef"),
  str(10, "reason"),
  str(11, "message"),
  map(12, "labels"),
  map(13, "annotations"),
  rep(msg(14, "mounts", () => Mount)),
  str(15, "logPath"),
  msg(16, "resources", () => ContainerResources),
]);

export interface ContainerStatusResponse {
  status?: ContainerStatus | undefined;
  /** With verbose: containerd's "info" JSON (pid, sandboxID, runtimeSpec...). */
  info: Record<string, string>;
}
export const ContainerStatusResponse: Schema<ContainerStatusResponse> = message(
  P + "ContainerStatusResponse",
  [msg(1, "status", () => ContainerStatus), map(2, "info")],
);

export interface ExecSyncRequest {
  containerId: string;
  cmd: string[];
  /** Seconds; 0 = no timeout. */
  timeout: bigint;
}
export const ExecSyncRequest: Schema<ExecSyncRequest> = message(P + "ExecSyncRequest", [
  str(1, "containerId"),
  rep(str(2, "cmd")),
  i64(3, "timeout"),
]);

export interface ExecSyncResponse {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number;
}
export const ExecSyncResponse: Schema<ExecSyncResponse> = message(P + "ExecSyncResponse", [
  bytes(1, "stdout"),
  bytes(2, "stderr"),
  i32(3, "exitCode"),
]);
