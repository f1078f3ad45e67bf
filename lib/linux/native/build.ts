/**
 * Working out a native init's plan in `create`: what the config asks, what the host's mount
 * table and the container's cgroups are, and what the rootfs holds (the program and HOME are
 * looked up in it through openat2 with RESOLVE_IN_ROOT, as the init would after its mounts).
 * Every check runs here, before anything of the container exists.
 */
import type { CgroupRecord } from "../../cgroups/record.ts";
import { mountOf } from "../../cgroups/record.ts";
import { DenkiError } from "../../errors.ts";
import { MS } from "../../plan/mount_options.ts";
import type { SeccompPlan } from "../../spawn/steps.ts";
import type { Spec } from "../../spec/config.ts";
import * as sc from "../../sys/syscalls.ts";
import { fileType } from "../../sys/stat.ts";
import { AT_FDCWD, S_IFDIR } from "../../plan/abi.ts";
import { devicePlan } from "../devices.ts";
import { retainedCaps } from "../launch.ts";
import { envWithHome, pathOf } from "../lookpath.ts";
import { parseCgroupMounts, planMounts } from "../mounts.ts";
import { checkCapabilities, credentialPlan, denySetgroups, rlimitPlans } from "../process.ts";
import { userNamespaceOf } from "../namespaces.ts";
import { components, throughDanglingLinks } from "../resolve.ts";
import { hostProcAndSys, parentMountPoint, PROPAGATION } from "../rootfs.ts";
import type { NativePlan, PlannedMount } from "./plan.ts";

/** What `create` knows besides the config when it plans a native init. */
export interface NativeInputs {
  spec: Spec;
  id: string;
  bundle: string;
  rootfs: string;
  /** The container's state directory (the exec fifo is there). */
  stateDir: string;
  /** The init's end of the channel, and of the console socket when there is a terminal. */
  channel: number;
  consoleSocket?: number | undefined;
  preserveFds: number;
  noPivot: boolean;
  noNewKeyring: boolean;
  cgroup?: CgroupRecord | undefined;
  seccomp?: SeccompPlan | undefined;
  /** /proc/self/mountinfo of `create` (the init's new mount namespace starts as a copy). */
  mountinfo: string;
  /** An inherited O_PATH fd of the exec fifo (a new user namespace cannot reach its path). */
  fifoFd?: number | undefined;
  /** The new user namespace will deny setgroups (a rootless map of the caller's own gid). */
  setgroupsDenied?: boolean | undefined;
}

/**
 * Why this container's init must run Deno (its own interpreter of the plan), or undefined
 * when the native stage can be its init.
 */
export function denoInitReason(
  spec: Spec,
  how: { sandbox: boolean; inProcess: boolean },
): string | undefined {
  if (how.sandbox) return "a rootless sandbox has no namespaces";
  if (how.inProcess) return "the workload runs inside Deno";
  const hooks = spec.hooks ?? {};
  if ((hooks.createContainer?.length ?? 0) + (hooks.startContainer?.length ?? 0) > 0) {
    return "hooks run inside the container";
  }
  if ((spec.mounts ?? []).some((m) => (m.options ?? []).includes("tmpcopyup"))) {
    return "tmpcopyup copies a directory";
  }
  const mount = (spec.linux?.namespaces ?? []).find((n) => n.type === "mount");
  if (mount === undefined || mount.path) return "no new mount namespace";
  if (!hasMountSetattr()) return "this kernel lacks mount_setattr";
  return undefined;
}

let setattr: boolean | undefined;

/** mount_setattr (Linux 5.12) exists: a call on no fd fails with EBADF, not ENOSYS. */
function hasMountSetattr(): boolean {
  setattr ??= sc.mountSetattrErrno(-1) !== sc.Errno.ENOSYS;
  return setattr;
}

/** The mode of a directory in the rootfs (host view), or 0755 for one the init will make. */
function coveredMode(root: number, dest: string): number {
  const r = sc.tryOpenat2(
    root,
    components(dest).join("/") || ".",
    sc.O_PATH | sc.O_CLOEXEC,
    sc.RESOLVE_IN_ROOT | sc.RESOLVE_NO_MAGICLINKS,
  );
  if (r.fd < 0) return 0o755;
  try {
    const mode = sc.statMode(r.fd, "", sc.AT_EMPTY_PATH);
    return mode !== undefined && (mode & sc.S_IFMT) === sc.S_IFDIR ? mode & 0o7777 : 0o755;
  } finally {
    sc.close(r.fd);
  }
}

/** True when `dest` lies on or below the destination of an earlier mount. */
function covered(dest: string, earlier: readonly string[]): boolean {
  const d = components(dest).join("/");
  return earlier.some((e) => {
    const p = components(e).join("/");
    return p === "" || d === p || d.startsWith(`${p}/`);
  });
}

/** The plan of the init, with every check done. */
export function buildNativePlan(i: NativeInputs): NativePlan {
  const { spec } = i;
  const process = spec.process!;
  const linux = spec.linux ?? {};
  const types = new Set((linux.namespaces ?? []).filter((n) => !n.path).map((n) => n.type));
  const creds = credentialPlan(spec);
  if (i.setgroupsDenied) denySetgroups(creds);
  const retain = retainedCaps(creds, i.seccomp);
  checkCapabilities(creds, retain, userNamespaceOf(spec) !== undefined);
  const root = sc.open(i.rootfs, sc.O_PATH | sc.O_DIRECTORY | sc.O_CLOEXEC);
  try {
    const earlier: string[] = [];
    const mounts: PlannedMount[] = planMounts(spec.mounts ?? [], i.bundle).map((m) => {
      // Below an earlier mount the rootfs's links are hidden: the kernel resolves the rest.
      const at = covered(m.destination, earlier)
        ? m.destination
        : throughDanglingLinks(root, m.destination);
      const planned: PlannedMount = { ...m, at };
      if (m.bind) {
        // Raw stat (following links): Deno refuses /sys and /proc paths to all but --allow-all.
        const type = fileType(AT_FDCWD, m.source, 0);
        if (type === undefined) {
          throw new DenkiError(
            `cannot mount ${m.type} ${JSON.stringify(m.source)} on ${
              JSON.stringify(m.destination)
            }: the source does not exist`,
          );
        }
        planned.sourceIsDir = type === S_IFDIR;
      }
      if (m.type === "tmpfs") {
        planned.coveredMode = covered(m.destination, earlier)
          ? 0o755
          : coveredMode(root, m.destination);
      }
      earlier.push(m.destination);
      return planned;
    });
    const cgroupMounts = parseCgroupMounts(i.mountinfo);
    const own: Record<string, string> = {};
    if (i.cgroup !== undefined) {
      for (const dir of [...Object.values(i.cgroup.v1), ...(i.cgroup.v2 ? [i.cgroup.v2] : [])]) {
        const mount = mountOf(i.cgroup, dir);
        if (mount !== undefined) own[mount] = dir;
      }
    }
    const env = envWithHome(root, process.env ?? [], creds.uid);
    const name = process.args![0]!;
    const candidates = name.includes("/")
      ? [name]
      : pathOf(env).split(":").map((dir) => `${dir === "" ? "." : dir}/${name}`);
    const size = process.consoleSize;
    const propagation = linux.rootfsPropagation;
    return {
      channel: i.channel,
      preserveFds: i.preserveFds,
      newCgroupNs: types.has("cgroup"),
      newNetworkNs: types.has("network"),
      rootfs: i.rootfs,
      rootPropagation: propagation ? PROPAGATION[propagation]! : MS.SLAVE | MS.REC,
      rootParentMount: parentMountPoint(i.mountinfo, i.rootfs),
      mounts,
      cgroups: {
        host: cgroupMounts,
        own,
        unifiedOnly: cgroupMounts.some((h) =>
          h.fstype === "cgroup2" && h.mountPoint === "/sys/fs/cgroup"
        ),
      },
      // A /dev bound from elsewhere (the host's, in "host devices" setups) is not ours to fill.
      devices: mounts.some((m) => m.destination === "/dev" && m.bind)
        ? undefined
        : devicePlan(linux.devices ?? []),
      cwd: process.cwd,
      fifo: `${i.stateDir}/exec.fifo`,
      fifoFd: i.fifoFd,
      runtimeHooks: (spec.hooks?.prestart?.length ?? 0) +
          (spec.hooks?.createRuntime?.length ?? 0) > 0,
      noPivot: i.noPivot,
      hostProcAndSys: i.noPivot ? hostProcAndSys(i.mountinfo, i.rootfs) : [],
      setPropagation: propagation ? PROPAGATION[propagation] : undefined,
      ...(i.consoleSocket === undefined ? {} : {
        console: {
          socket: i.consoleSocket,
          uid: process.user?.uid,
          ...(size ? { rows: size.height, cols: size.width } : {}),
        },
      }),
      hostname: spec.hostname,
      domainname: spec.domainname,
      sysctl: Object.entries(linux.sysctl ?? {}),
      oomScoreAdj: process.oomScoreAdj,
      maskedPaths: linux.maskedPaths ?? [],
      readonlyPaths: linux.readonlyPaths ?? [],
      readonlyRoot: spec.root?.readonly === true,
      umask: process.user?.umask ?? 0o022,
      rlimits: rlimitPlans(spec),
      keyring: i.noNewKeyring ? undefined : `_ses.${i.id}`,
      creds,
      retain,
      seccomp: i.seccomp,
      program: { name, candidates, argv: process.args!, env },
    };
  } finally {
    sc.close(root);
  }
}
