/**
 * The plan of a container init that the native stage carries out: every value worked out by
 * `create` beforehand (from the config, the host's mount table, the container's cgroups and a
 * look at the rootfs), so that the init itself only makes system calls. Pure data.
 */
import type { MountStep } from "../mounts.ts";
import type { CredentialPlan, RlimitPlan, SeccompPlan } from "../../spawn/steps.ts";
import type { Device } from "../../spec/config.ts";

/** A cgroup hierarchy mounted on the host. */
export interface HostCgroup {
  mountPoint: string;
  fstype: "cgroup" | "cgroup2";
  /** Super options of a v1 hierarchy: its controllers and name=. */
  options: string;
}

/** One configured mount with what `create` found out about it. */
export interface PlannedMount extends MountStep {
  /** Binds: whether the source is a directory or something else. */
  sourceIsDir?: boolean;
  /** tmpfs: the mode of the directory it covers (its own default would be 1777). */
  coveredMode?: number;
  /** Where the init walks to reach the destination: dangling links in it already followed. */
  at: string;
  /**
   * An idmapped mount: an inherited fd of the detached, already idmapped copy of the source
   * that `create` made (linux/idmap.ts), which the init moves onto the destination.
   */
  idmapTree?: number | undefined;
}

/** The container's cgroups as /sys/fs/cgroup shows them. */
export interface CgroupView {
  /** The host's hierarchies. */
  host: HostCgroup[];
  /** The container's directory in each hierarchy (by mount point); binds without cgroupns. */
  own: Record<string, string>;
  /** A v2-only host (one cgroup2 mount at /sys/fs/cgroup). */
  unifiedOnly: boolean;
}

/** Everything a native init does, in order of appearance. */
export interface NativePlan {
  /** The channel to `create`, as the init's fd. */
  channel: number;
  /** fds 3 .. 3+preserveFds-1 stay open for the workload. */
  preserveFds: number;
  newCgroupNs: boolean;
  newNetworkNs: boolean;
  rootfs: string;
  /** MS_* flags for "/" before anything is mounted (rslave unless configured). */
  rootPropagation: number;
  /** The mount holding the rootfs's parent, made private (pivot_root needs it). */
  rootParentMount: string;
  mounts: PlannedMount[];
  cgroups: CgroupView;
  /** Device nodes to make; undefined when /dev is a bind of someone else's. */
  devices?: Device[] | undefined;
  cwd: string;
  /** The exec fifo (opened O_PATH before the root switch). */
  fifo: string;
  /**
   * An O_PATH fd of the fifo the init inherits, used instead of `fifo`: in a new user
   * namespace the init cannot reach the state directory (it is the host root's).
   */
  fifoFd?: number | undefined;
  /** prestart/createRuntime hooks exist: ask `create` to run them. */
  runtimeHooks: boolean;
  noPivot: boolean;
  /** --no-pivot: the host's proc and sysfs mounts outside the rootfs, deepest first. */
  hostProcAndSys: string[];
  /** rootfsPropagation, applied again after the switch. */
  setPropagation?: number | undefined;
  console?: { socket: number; uid?: number | undefined; rows?: number; cols?: number };
  hostname?: string | undefined;
  domainname?: string | undefined;
  sysctl: [string, string][];
  oomScoreAdj?: number | undefined;
  maskedPaths: string[];
  readonlyPaths: string[];
  readonlyRoot: boolean;
  umask: number;
  rlimits: RlimitPlan[];
  /** A new session keyring of this name (undefined with --no-new-keyring). */
  keyring?: string | undefined;
  creds: CredentialPlan;
  retain: bigint;
  seccomp?: SeccompPlan | undefined;
  /** The program: its name, where to look for it, argv and the environment. */
  program: { name: string; candidates: string[]; argv: string[]; env: string[] };
}
