/**
 * Semantic checks of a parsed config.json: a list of small rules, each reporting every problem
 * it finds with its JSON path. Pure: nothing here touches the file system (whether root.path
 * exists is checked by `create`).
 */
import { quote, type SpecIssue } from "../errors.ts";
import { RLIMITS } from "../plan/rlimits.ts";
import type { Hook, NamespaceType, Spec } from "./config.ts";
import { HOOK_KINDS } from "./config.ts";
import { checkOciVersion, parseSemver, type Semver } from "./version.ts";

/** What a rule sees: the config and its parsed ociVersion. */
interface RuleInput {
  spec: Spec;
  version: Semver;
}

type Rule = (input: RuleInput, issues: SpecIssue[]) => void;

const isAbs = (p: string) => p.startsWith("/");

function requireAbsolute(path: string, value: string, issues: SpecIssue[]): void {
  if (!isAbs(value)) {
    issues.push({ path, message: `must be an absolute path, not ${quote(value)}` });
  }
}

/** Namespaces the container gets: created (no path) or joined (path). */
function namespaceSet(spec: Spec): Set<NamespaceType> {
  return new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
}

const rootRule: Rule = ({ spec }, issues) => {
  if (spec.root === undefined) issues.push({ path: "root", message: "is required on Linux" });
  else if (spec.root.path === "") issues.push({ path: "root.path", message: "must not be empty" });
};

const processRule: Rule = ({ spec }, issues) => {
  const p = spec.process;
  if (p === undefined) return;
  requireAbsolute("process.cwd", p.cwd, issues);
  if (p.args === undefined || p.args.length === 0) {
    issues.push({ path: "process.args", message: "must have at least one entry" });
  } else if (p.args[0] === "") {
    issues.push({ path: "process.args[0]", message: "must not be empty" });
  }
  p.env?.forEach((e, i) => {
    if (!e.includes("=") || e.startsWith("=")) {
      issues.push({
        path: `process.env[${i}]`,
        message: `must have the form KEY=value, not ${quote(e)}`,
      });
    }
  });
  if (p.user?.umask !== undefined && p.user.umask > 0o777) {
    issues.push({
      path: "process.user.umask",
      message: `must be at most 0777 (511), not ${p.user.umask}`,
    });
  }
  if (p.oomScoreAdj !== undefined && (p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) {
    issues.push({
      path: "process.oomScoreAdj",
      message: `must be from -1000 to 1000, not ${p.oomScoreAdj}`,
    });
  }
  if (
    p.ioPriority?.priority !== undefined && (p.ioPriority.priority < 0 || p.ioPriority.priority > 7)
  ) {
    issues.push({
      path: "process.ioPriority.priority",
      message: `must be from 0 to 7, not ${p.ioPriority.priority}`,
    });
  }
  const s = p.scheduler;
  if (s?.nice !== undefined && (s.nice < -20 || s.nice > 19)) {
    issues.push({
      path: "process.scheduler.nice",
      message: `must be from -20 to 19, not ${s.nice}`,
    });
  }
  for (const key of ["initial", "final"] as const) {
    const list = p.execCPUAffinity?.[key];
    if (list !== undefined && list !== "" && !isCpuList(list)) {
      issues.push({
        path: `process.execCPUAffinity.${key}`,
        message: `must be a CPU list like "0-3,7", not ${quote(list)}`,
      });
    }
  }
};

const rlimitRule: Rule = ({ spec }, issues) => {
  const seen = new Set<string>();
  spec.process?.rlimits?.forEach((r, i) => {
    const at = `process.rlimits[${i}]`;
    if (!(r.type in RLIMITS)) {
      issues.push({
        path: `${at}.type`,
        message: `unknown resource limit ${quote(r.type)}`,
      });
    } else if (seen.has(r.type)) {
      issues.push({ path: `${at}.type`, message: `${r.type} is set more than once` });
    }
    seen.add(r.type);
    if (BigInt(r.soft) > BigInt(r.hard)) {
      issues.push({ path: `${at}.soft`, message: `${r.soft} is above the hard limit ${r.hard}` });
    }
  });
};

const mountRule: Rule = ({ spec, version }, issues) => {
  // Relative destinations are allowed (as relative to "/") from runtime-spec 1.2.0 on.
  const relativeOk = version.major === 1 && version.minor >= 2;
  spec.mounts?.forEach((m, i) => {
    const at = `mounts[${i}]`;
    if (m.destination === "") {
      issues.push({ path: `${at}.destination`, message: "must not be empty" });
    } else if (!relativeOk) {
      requireAbsolute(`${at}.destination`, m.destination, issues);
    }
    if ((m.uidMappings === undefined) !== (m.gidMappings === undefined)) {
      issues.push({ path: at, message: "uidMappings and gidMappings must be given together" });
    }
    const opts = m.options ?? [];
    const idmap = opts.includes("idmap") || opts.includes("ridmap");
    if (idmap && m.uidMappings === undefined && !namespaceSet(spec).has("user")) {
      issues.push({
        path: `${at}.options`,
        message: "idmap needs uidMappings/gidMappings or a user namespace",
      });
    }
  });
};

const hookRule: Rule = ({ spec }, issues) => {
  for (const kind of HOOK_KINDS) {
    spec.hooks?.[kind]?.forEach((h: Hook, i) => {
      const at = `hooks.${kind}[${i}]`;
      requireAbsolute(`${at}.path`, h.path, issues);
      if (h.timeout !== undefined && h.timeout <= 0) {
        issues.push({ path: `${at}.timeout`, message: `must be positive, not ${h.timeout}` });
      }
    });
  }
};

const namespaceRule: Rule = ({ spec }, issues) => {
  const seen = new Set<string>();
  spec.linux?.namespaces?.forEach((n, i) => {
    const at = `linux.namespaces[${i}]`;
    if (seen.has(n.type)) {
      issues.push({
        path: `${at}.type`,
        message: `namespace "${n.type}" is listed more than once`,
      });
    }
    seen.add(n.type);
    if (n.path !== undefined && n.path !== "") requireAbsolute(`${at}.path`, n.path, issues);
  });
};

const idMappingRule: Rule = ({ spec }, issues) => {
  const linux = spec.linux;
  const userns = namespaceSet(spec).has("user");
  for (const key of ["uidMappings", "gidMappings"] as const) {
    const maps = linux?.[key];
    if (maps !== undefined && maps.length > 0 && !userns) {
      issues.push({ path: `linux.${key}`, message: "needs a user namespace in linux.namespaces" });
    }
    maps?.forEach((m, i) => {
      if (m.size === 0) issues.push({ path: `linux.${key}[${i}].size`, message: "must not be 0" });
    });
  }
  const joinsUserns = linux?.namespaces?.some((n) => n.type === "user" && n.path);
  if (userns && !joinsUserns && !(linux?.uidMappings?.length && linux?.gidMappings?.length)) {
    issues.push({
      path: "linux.namespaces",
      message: "a new user namespace needs linux.uidMappings and linux.gidMappings",
    });
  }
};

const timeRule: Rule = ({ spec }, issues) => {
  const offsets = spec.linux?.timeOffsets;
  if (offsets === undefined) return;
  const timens = spec.linux?.namespaces?.find((n) => n.type === "time");
  if (Object.keys(offsets).length > 0 && (timens === undefined || timens.path)) {
    issues.push({
      path: "linux.timeOffsets",
      message: "needs a new time namespace in linux.namespaces",
    });
  }
  for (const [clock, off] of Object.entries(offsets)) {
    const at = `linux.timeOffsets[${quote(clock)}]`;
    if (clock !== "monotonic" && clock !== "boottime") {
      issues.push({ path: at, message: 'only "monotonic" and "boottime" clocks can be offset' });
    }
    if (off.nanosecs !== undefined && off.nanosecs >= 1_000_000_000) {
      issues.push({
        path: `${at}.nanosecs`,
        message: `must be below 1000000000, not ${off.nanosecs}`,
      });
    }
  }
};

/** The kernel's limit on a host or domain name (__NEW_UTS_LEN), in bytes. */
const UTS_NAME_MAX = 64;

const utsRule: Rule = ({ spec }, issues) => {
  const uts = namespaceSet(spec).has("uts");
  for (const key of ["hostname", "domainname"] as const) {
    const name = spec[key];
    if (name !== undefined && name !== "" && !uts) {
      issues.push({ path: key, message: "needs a uts namespace in linux.namespaces" });
    }
    const bytes = name === undefined ? 0 : new TextEncoder().encode(name).length;
    if (bytes > UTS_NAME_MAX) {
      issues.push({ path: key, message: `must be at most ${UTS_NAME_MAX} bytes, not ${bytes}` });
    }
  }
};

/**
 * Strings reach the kernel as C strings, where a NUL byte ends them: "A=1\0B=2" would set A
 * only, and a path would be cut short. Refused everywhere but in annotations (metadata that
 * only travels as JSON), as runc refuses them in env, args and mounts.
 */
const nulRule: Rule = ({ spec }, issues) => {
  const walk = (v: unknown, path: string): void => {
    if (typeof v === "string") {
      if (v.includes("\0")) issues.push({ path, message: "must not contain a NUL byte" });
    } else if (Array.isArray(v)) {
      v.forEach((el, i) => walk(el, `${path}[${i}]`));
    } else if (typeof v === "object" && v !== null) {
      for (const [k, el] of Object.entries(v)) {
        if (path === "" && k === "annotations") continue;
        const at = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)
          ? (path === "" ? k : `${path}.${k}`)
          : `${path}[${quote(k)}]`;
        if (k.includes("\0")) issues.push({ path: at, message: "must not contain a NUL byte" });
        walk(el, at);
      }
    }
  };
  walk(spec, "");
};

/** IPC sysctls that belong to the ipc namespace. */
const IPC_SYSCTLS = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);

const sysctlRule: Rule = ({ spec }, issues) => {
  const ns = namespaceSet(spec);
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) {
    const at = `linux.sysctl[${quote(key)}]`;
    let needs: NamespaceType | undefined;
    if (IPC_SYSCTLS.has(key) || key.startsWith("fs.mqueue.")) needs = "ipc";
    else if (key.startsWith("net.")) needs = "network";
    else if (key === "kernel.hostname" || key === "kernel.domainname") needs = "uts";
    if (needs === undefined) {
      issues.push({ path: at, message: "is not namespaced: it would change the host" });
    } else if (!ns.has(needs)) {
      issues.push({ path: at, message: `needs a ${needs} namespace in linux.namespaces` });
    }
  }
};

/**
 * Device numbers the kernel can hold: mknod takes a 32-bit dev_t of a 12-bit major and a
 * 20-bit minor (new_decode_dev), and drops every higher bit, so 4097:1 would make 1:1.
 */
export const MAX_MAJOR = 0xfff;
/** The largest device minor number (20 bits). */
export const MAX_MINOR_NUMBER = 0xfffff;

const deviceRule: Rule = ({ spec }, issues) => {
  spec.linux?.devices?.forEach((d, i) => {
    const at = `linux.devices[${i}]`;
    requireAbsolute(`${at}.path`, d.path, issues);
    if (d.type !== "p" && (d.major === undefined || d.minor === undefined)) {
      issues.push({ path: at, message: `a "${d.type}" device needs major and minor numbers` });
    }
    for (const [key, max] of [["major", MAX_MAJOR], ["minor", MAX_MINOR_NUMBER]] as const) {
      const v = d[key];
      if (v !== undefined && (v < 0 || v > max)) {
        issues.push({ path: `${at}.${key}`, message: `must be from 0 to ${max}, not ${v}` });
      }
    }
  });
  spec.linux?.resources?.devices?.forEach((d, i) => {
    if (d.access !== undefined && !/^[rwm]*$/.test(d.access)) {
      issues.push({
        path: `linux.resources.devices[${i}].access`,
        message: `must be made of "r", "w" and "m", not ${quote(d.access)}`,
      });
    }
  });
};

const resourceRule: Rule = ({ spec }, issues) => {
  const r = spec.linux?.resources;
  if (r === undefined) return;
  if (r.memory?.swappiness !== undefined && BigInt(r.memory.swappiness) > 100n) {
    issues.push({
      path: "linux.resources.memory.swappiness",
      message: `must be from 0 to 100, not ${r.memory.swappiness}`,
    });
  }
  const quota = r.cpu?.quota;
  if (r.cpu?.burst !== undefined && quota !== undefined && quota > 0 && r.cpu.burst > quota) {
    issues.push({
      path: "linux.resources.cpu.burst",
      message: `${r.cpu.burst} is above the quota ${quota}`,
    });
  }
  for (const key of ["cpus", "mems"] as const) {
    const list = r.cpu?.[key];
    if (list !== undefined && list !== "" && !isCpuList(list)) {
      issues.push({
        path: `linux.resources.cpu.${key}`,
        message: `must be a list like "0-3,7", not ${quote(list)}`,
      });
    }
  }
  r.blockIO?.weightDevice?.forEach((w, i) => {
    if (w.weight === undefined && w.leafWeight === undefined) {
      issues.push({
        path: `linux.resources.blockIO.weightDevice[${i}]`,
        message: "needs weight or leafWeight",
      });
    }
  });
  r.hugepageLimits?.forEach((h, i) => {
    if (!/^[1-9][0-9]*[KMG]B$/.test(h.pageSize)) {
      issues.push({
        path: `linux.resources.hugepageLimits[${i}].pageSize`,
        message: `must look like "2MB" or "1GB", not ${quote(h.pageSize)}`,
      });
    }
  });
  for (const [dev, limit] of Object.entries(r.rdma ?? {})) {
    if (limit.hcaHandles === undefined && limit.hcaObjects === undefined) {
      issues.push({
        path: `linux.resources.rdma[${quote(dev)}]`,
        message: "needs hcaHandles or hcaObjects",
      });
    }
  }
};

/** Actions that can carry an errno value. */
const ERRNO_ACTIONS = new Set(["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"]);

const seccompRule: Rule = ({ spec }, issues) => {
  const s = spec.linux?.seccomp;
  if (s === undefined) return;
  if (s.defaultErrnoRet !== undefined && !ERRNO_ACTIONS.has(s.defaultAction)) {
    issues.push({
      path: "linux.seccomp.defaultErrnoRet",
      message: `is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${s.defaultAction}`,
    });
  }
  if (s.listenerMetadata !== undefined && !s.listenerPath) {
    issues.push({ path: "linux.seccomp.listenerMetadata", message: "needs listenerPath" });
  }
  const notify = s.defaultAction === "SCMP_ACT_NOTIFY" ||
    (s.syscalls ?? []).some((c) => c.action === "SCMP_ACT_NOTIFY");
  if (notify && !s.listenerPath) {
    issues.push({ path: "linux.seccomp.listenerPath", message: "is required by SCMP_ACT_NOTIFY" });
  }
  if (s.listenerPath) requireAbsolute("linux.seccomp.listenerPath", s.listenerPath, issues);
  s.syscalls?.forEach((c, i) => {
    const at = `linux.seccomp.syscalls[${i}]`;
    if (c.names.length === 0) issues.push({ path: `${at}.names`, message: "must not be empty" });
    if (c.errnoRet !== undefined && !ERRNO_ACTIONS.has(c.action)) {
      issues.push({
        path: `${at}.errnoRet`,
        message: `is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${c.action}`,
      });
    }
    c.args?.forEach((a, j) => {
      if (a.index > 5) {
        issues.push({
          path: `${at}.args[${j}].index`,
          message: `must be from 0 to 5, not ${a.index}`,
        });
      }
    });
  });
};

const pathListRule: Rule = ({ spec }, issues) => {
  for (const key of ["maskedPaths", "readonlyPaths"] as const) {
    spec.linux?.[key]?.forEach((p, i) => requireAbsolute(`linux.${key}[${i}]`, p, issues));
  }
};

const intelRdtRule: Rule = ({ spec }, issues) => {
  const rdt = spec.linux?.intelRdt;
  if (rdt === undefined) return;
  if (rdt.memBwSchema !== undefined && !/^MB:[^\n]*$/.test(rdt.memBwSchema)) {
    issues.push({
      path: "linux.intelRdt.memBwSchema",
      message: 'must start with "MB:" and be one line',
    });
  }
  if (rdt.l3CacheSchema?.includes("\n")) {
    issues.push({ path: "linux.intelRdt.l3CacheSchema", message: "must be one line" });
  }
  rdt.schemata?.forEach((line, i) => {
    if (line.includes("\n")) {
      issues.push({ path: `linux.intelRdt.schemata[${i}]`, message: "must be one line" });
    }
  });
};

const memoryPolicyRule: Rule = ({ spec }, issues) => {
  const mp = spec.linux?.memoryPolicy;
  if (mp === undefined) return;
  const noNodes = mp.mode === "MPOL_DEFAULT" || mp.mode === "MPOL_LOCAL";
  const hasNodes = mp.nodes !== undefined && mp.nodes !== "";
  if (noNodes && hasNodes) {
    issues.push({ path: "linux.memoryPolicy.nodes", message: `must be empty for ${mp.mode}` });
  } else if (!noNodes && mp.mode !== "MPOL_PREFERRED" && !hasNodes) {
    issues.push({ path: "linux.memoryPolicy.nodes", message: `is required for ${mp.mode}` });
  }
  if (hasNodes && !isCpuList(mp.nodes!)) {
    issues.push({
      path: "linux.memoryPolicy.nodes",
      message: `must be a list like "0-3,7", not ${quote(mp.nodes!)}`,
    });
  }
  const flags = mp.flags ?? [];
  if (flags.includes("MPOL_F_STATIC_NODES") && flags.includes("MPOL_F_RELATIVE_NODES")) {
    issues.push({
      path: "linux.memoryPolicy.flags",
      message: "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other",
    });
  }
};

const netDeviceRule: Rule = ({ spec }, issues) => {
  const devices = spec.linux?.netDevices;
  if (devices === undefined) return;
  if (Object.keys(devices).length > 0 && !namespaceSet(spec).has("network")) {
    issues.push({
      path: "linux.netDevices",
      message: "needs a network namespace in linux.namespaces",
    });
  }
  for (const [host, dev] of Object.entries(devices)) {
    const at = `linux.netDevices[${quote(host)}]`;
    for (const [path, name] of [[at, host], [`${at}.name`, dev.name]] as const) {
      if (name !== undefined && !isInterfaceName(name)) {
        issues.push({ path, message: `${quote(name)} is not a valid interface name` });
      }
    }
  }
};

/** Every rule, in the order their findings are reported. */
const RULES: readonly Rule[] = [
  nulRule,
  rootRule,
  processRule,
  rlimitRule,
  mountRule,
  hookRule,
  namespaceRule,
  idMappingRule,
  timeRule,
  utsRule,
  sysctlRule,
  deviceRule,
  resourceRule,
  seccompRule,
  pathListRule,
  intelRdtRule,
  memoryPolicyRule,
  netDeviceRule,
];

/** Runs every rule over a parsed config and returns all problems found. */
export function validateSpec(spec: Spec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const versionIssue = checkOciVersion(spec.ociVersion);
  if (versionIssue !== undefined) return [versionIssue];
  const version = parseSemver(spec.ociVersion)!;
  for (const rule of RULES) rule({ spec, version }, issues);
  return issues;
}

/** True for Linux CPU/node list syntax: "0-3,7,9-10". */
function isCpuList(list: string): boolean {
  return /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list.replaceAll(" ", ""));
}

/** Linux interface names: 1-15 bytes, no "/", ":" or whitespace, not "." or "..". */
function isInterfaceName(name: string): boolean {
  return name.length > 0 && name.length <= 15 && !/[/:\s]/.test(name) && name !== "." &&
    name !== "..";
}
