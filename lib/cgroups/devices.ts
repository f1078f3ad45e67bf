/**
 * The device rules a container's cgroup gets: everything denied, then the config's rules in
 * order, then the devices every container needs (as runc appends them), so a config that only
 * says "deny all" still has /dev/null. Shared by the v1 devices controller (v1/resources.ts)
 * and the v2 BPF program (v2/driver.ts).
 */
import type { Resources } from "../spec/config.ts";
import type { DeviceRule } from "../plan/bpf_devices.ts";

/** Devices every container may use, after the config's own rules. */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  { allow: true, type: "c", major: -1, minor: -1, access: "m" },
  { allow: true, type: "b", major: -1, minor: -1, access: "m" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // /dev/null
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // /dev/zero
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // /dev/full
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" }, // /dev/random
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }, // /dev/urandom
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // /dev/tty
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // /dev/ptmx
  { allow: true, type: "c", major: 136, minor: -1, access: "rwm" }, // /dev/pts/*
];

/** The full rule list for a container: deny all, the config's rules, the defaults. */
export function deviceRules(resources: Resources | undefined): DeviceRule[] {
  const rules: DeviceRule[] = [{ allow: false, type: "a", access: "rwm" }];
  for (const r of resources?.devices ?? []) {
    const rule: DeviceRule = { allow: r.allow };
    if (r.type !== undefined) rule.type = r.type;
    if (r.major !== undefined) rule.major = r.major;
    if (r.minor !== undefined) rule.minor = r.minor;
    if (r.access !== undefined) rule.access = r.access;
    rules.push(rule);
  }
  return [...rules, ...DEFAULT_DEVICE_RULES];
}
