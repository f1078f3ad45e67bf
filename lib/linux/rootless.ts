/**
 * Whether denki runs rootless: as a user other than root, or as root of a user namespace that
 * someone else made (rootless podman runs its runtime so). Either way the host's cgroups and
 * /run are not its own, as runc decides for itself.
 */
import { readTextRaw } from "../sys/rawfs.ts";

/** True when `uidMap` (a /proc/PID/uid_map) maps every id to itself: the initial namespace. */
export function isInitialUidMap(uidMap: string | undefined): boolean {
  if (uidMap === undefined) return true;
  return /^0\s+0\s+4294967295$/.test(uidMap.trim());
}

let initial: boolean | undefined;

/** Whether this process is in the initial user namespace (read once: it cannot change). */
export function inInitialUserNamespace(): boolean {
  initial ??= isInitialUidMap(readTextRaw("/proc/self/uid_map"));
  return initial;
}

/** Rootless: not root, or not in the initial user namespace. */
export function isRootless(uid = Deno.uid() ?? 0): boolean {
  return uid !== 0 || !inInitialUserNamespace();
}
