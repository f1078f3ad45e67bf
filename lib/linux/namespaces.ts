/**
 * The container's namespaces as `create` sees them: what a config may ask for, the fds of the
 * ones it joins by path, and the plan of the native stage that joins and makes them before the
 * init's Deno starts (lib/linux/launch.ts), so that every thread of the init is inside them.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import type { NamespaceType, Spec } from "../spec/config.ts";
import * as sc from "../sys/syscalls.ts";
import { initEnvironment, type InitLaunchPlan, type NamespaceFd } from "./launch.ts";

type NsEntry = { type: NamespaceType; path?: string };

function entries(spec: Spec): NsEntry[] {
  return (spec.linux?.namespaces ?? []) as NsEntry[];
}

function openNs(entry: NsEntry, cloexec = true): number {
  try {
    return sc.open(entry.path!, sc.O_RDONLY | (cloexec ? sc.O_CLOEXEC : 0));
  } catch (err) {
    if (err instanceof SyscallError) {
      throw new DenkiError(`cannot open ${entry.type} namespace ${entry.path}: ${err.message}`);
    }
    throw err;
  }
}

/** The container's user namespace: a new one, one joined by path, or none. */
export function userNamespaceOf(spec: Spec): "new" | "joined" | undefined {
  const ns = entries(spec).find((n) => n.type === "user");
  return ns === undefined ? undefined : ns.path ? "joined" : "new";
}

/** True when the container has no mount namespace (new or joined): its root is the host's. */
export function sharesHostMounts(spec: Spec): boolean {
  return !entries(spec).some((n) => n.type === "mount");
}

/**
 * Namespace settings this build cannot honour, as one-line reasons (empty when fine). Without
 * a mount namespace the container's mounts are the host's and its root is a chroot: what
 * needs a private mount table is refused rather than dropped (runc refuses masked and
 * read-only paths there too, but silently leaves the root writable).
 */
export function namespaceProblems(spec: Spec): string[] {
  const out: string[] = [];
  if (sharesHostMounts(spec)) {
    const why = "needs a mount namespace of the container's own (linux.namespaces has none)";
    if ((spec.linux?.maskedPaths ?? []).length > 0) out.push(`linux.maskedPaths ${why}`);
    if ((spec.linux?.readonlyPaths ?? []).length > 0) out.push(`linux.readonlyPaths ${why}`);
    if (spec.root?.readonly) out.push(`root.readonly ${why}`);
    if (spec.linux?.rootfsPropagation !== undefined) {
      out.push(
        "linux.rootfsPropagation would change the host's mount propagation (no mount namespace)",
      );
    }
  }
  if (userNamespaceOf(spec) === "new") {
    // The stage joins namespaces with the host's capabilities before it makes the user
    // namespace, except pid and mount, which come last (they change what later steps see);
    // from inside a new user namespace it has no capabilities over the host's.
    for (const ns of entries(spec)) {
      if ((ns.type === "pid" || ns.type === "mount") && ns.path) {
        out.push(
          `joining the ${ns.type} namespace ${ns.path} needs its user namespace joined too, not a new one`,
        );
      }
    }
  }
  return out;
}

/** Opens every namespace the config joins by path (inheritable fds for the stage). */
export function openJoined(spec: Spec): NamespaceFd[] {
  const out: NamespaceFd[] = [];
  try {
    for (const ns of entries(spec)) {
      if (ns.path) out.push({ type: ns.type, fd: openNs(ns, false) });
    }
  } catch (err) {
    for (const ns of out) sc.close(ns.fd);
    throw err;
  }
  return out;
}

/** The mount point `path` lives on (the deepest mount point that is it or holds it). */
export function mountPointOf(mountinfo: string, path: string): string {
  let best = "/";
  for (const line of mountinfo.split("\n")) {
    const mp = line.split(" ")[4]?.replace(
      /\\([0-7]{3})/g,
      (_, o) => String.fromCharCode(parseInt(o, 8)),
    );
    if (mp === undefined) continue;
    if ((path === mp || path.startsWith(`${mp}/`) || mp === "/") && mp.length > best.length) {
      best = mp;
    }
  }
  return best;
}

/**
 * What the stage does to start the init of a container with this config. `inProcess`: the
 * workload runs inside the init's Deno (the Wasm executor) instead of replacing it.
 */
export function initLaunchPlan(
  spec: Spec,
  argv: readonly string[],
  channel: number,
  joined: readonly NamespaceFd[],
  mountinfo: string,
  inProcess: boolean,
  stdio?: readonly [number, number, number],
): InitLaunchPlan {
  const fresh = entries(spec).filter((n) => !n.path).map((n) => n.type);
  const time = entries(spec).find((n) => n.type === "time" && !n.path);
  const offsets = Object.entries(spec.linux?.timeOffsets ?? {}).map(([clock, o]) =>
    `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`
  );
  const exe = argv[0]!;
  return {
    channel,
    join: joined,
    // pid and time are made apart (they act on children); cgroup once the init is in its
    // cgroup; user first of all, once the joined ones are joined.
    fresh: fresh.filter((t) => t !== "pid" && t !== "time" && t !== "cgroup" && t !== "user"),
    newUser: fresh.includes("user"),
    newPid: fresh.includes("pid"),
    newTime: time === undefined ? undefined : offsets,
    exe,
    exeMount: mountPointOf(mountinfo, exe),
    argv,
    env: initEnvironment(inProcess || !fresh.includes("pid")),
    stdio,
  };
}
