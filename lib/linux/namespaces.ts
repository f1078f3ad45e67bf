/**
 * Entering the container's namespaces. The pid (and time) namespace only affect children, so
 * `create` enters them around the one spawn of the init and returns at once; the init then
 * creates or joins the others on its JS thread (unshare and setns act on the calling thread).
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { CLONE_FS, INIT_NAMESPACE_ORDER, NAMESPACES } from "../plan/namespaces.ts";
import type { NamespaceType, Spec } from "../spec/config.ts";
import * as sc from "../sys/syscalls.ts";

type NsEntry = { type: NamespaceType; path?: string };

function entries(spec: Spec): NsEntry[] {
  return (spec.linux?.namespaces ?? []) as NsEntry[];
}

function openNs(entry: NsEntry): number {
  try {
    return sc.open(entry.path!, sc.O_RDONLY | sc.O_CLOEXEC);
  } catch (err) {
    if (err instanceof SyscallError) {
      throw new DenkiError(`cannot open ${entry.type} namespace ${entry.path}: ${err.message}`);
    }
    throw err;
  }
}

/** Namespace settings this build cannot honour, as one-line reasons (empty when fine). */
export function namespaceProblems(spec: Spec): string[] {
  const out: string[] = [];
  if (!entries(spec).some((n) => n.type === "mount")) {
    out.push("linux.namespaces must include a mount namespace (the root switch needs one)");
  }
  for (const ns of entries(spec)) {
    if (ns.type === "user") {
      out.push("user namespaces are not supported yet (they need a single-threaded process)");
    }
    if (ns.type === "time" && ns.path) {
      out.push(
        "joining a time namespace by path is not supported (it needs a single-threaded process)",
      );
    }
  }
  return out;
}

/**
 * Runs `spawn` with the pid namespace for children set to the container's (new or joined)
 * and a new time namespace when asked, then restores the pid namespace. Keep `spawn` to one
 * process creation with inherited or null stdio: no thread may start in between.
 */
export function withChildNamespaces<T>(spec: Spec, spawn: () => T): T {
  const pid = entries(spec).find((n) => n.type === "pid");
  const time = entries(spec).find((n) => n.type === "time");
  if (time !== undefined) {
    // A new time namespace applies to children only and cannot be left by a threaded
    // process, so later children of this command (hooks) share it: it only shifts clocks.
    sc.unshare(NAMESPACES.time.flag);
    const offsets = spec.linux?.timeOffsets ?? {};
    const lines = Object.entries(offsets).map(([clock, o]) =>
      `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`
    );
    if (lines.length > 0) sc.writeTextRaw("/proc/self/timens_offsets", lines.join("\n"));
  }
  if (pid === undefined) return spawn();
  return withPidNamespace(pid.path ? openNs(pid) : undefined, pid.path, spawn);
}

/**
 * Runs `spawn` with the pid namespace for children set to the one `target` (an open
 * namespace fd, closed here) refers to, or a new one when undefined; then restores ours.
 */
export function withPidNamespace<T>(target: number | undefined, what = "", spawn: () => T): T {
  const saved = sc.open("/proc/thread-self/ns/pid", sc.O_RDONLY | sc.O_CLOEXEC);
  try {
    if (target !== undefined) sc.setns(target, NAMESPACES.pid.flag, what);
    else sc.unshare(NAMESPACES.pid.flag);
    try {
      return spawn();
    } finally {
      sc.setns(saved, NAMESPACES.pid.flag, "the runtime's pid namespace");
    }
  } finally {
    sc.close(saved);
    if (target !== undefined) sc.close(target);
  }
}

/** In the init: joins (path) or creates the remaining namespaces, in a fixed order. */
export function enterNamespaces(spec: Spec): void {
  const wanted = new Map(entries(spec).map((n) => [n.type, n]));
  // Joining a mount namespace needs a private fs_struct first.
  if (wanted.get("mount")?.path) sc.unshare(CLONE_FS);
  // Every path is opened before any setns: a joined mount namespace changes what paths mean.
  const joins: [NsEntry, number][] = [];
  let fresh = 0;
  try {
    for (const type of INIT_NAMESPACE_ORDER) {
      const ns = wanted.get(type);
      if (ns === undefined) continue;
      if (ns.path) joins.push([ns, openNs(ns)]);
      else fresh |= NAMESPACES[type].flag;
    }
    for (const [ns, fd] of joins) {
      try {
        sc.setns(fd, NAMESPACES[ns.type].flag, ns.path);
      } catch (err) {
        throw new DenkiError(
          `cannot join ${ns.type} namespace ${ns.path}: ${(err as Error).message}`,
        );
      }
    }
  } finally {
    for (const [, fd] of joins) sc.close(fd);
  }
  if (fresh !== 0) {
    try {
      sc.unshare(fresh);
    } catch (err) {
      throw new DenkiError(`cannot create namespaces: ${(err as Error).message}`);
    }
  }
}
