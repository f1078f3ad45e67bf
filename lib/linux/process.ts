/**
 * What the init applies to itself after the root switch, before it hands over to the
 * workload: UTS names, sysctls, OOM score, umask and cwd; then credentials and capabilities,
 * all with raw system calls on the JS thread (the thread that will execve). Rlimits are plans
 * the native stage applies once Deno is gone.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { CAP_LAST, capMask } from "../plan/capabilities.ts";
import { RLIMITS } from "../plan/rlimits.ts";
import { boundingDrops, type CredentialPlan, type RlimitPlan } from "../spawn/steps.ts";
import type { Spec } from "../spec/config.ts";
import * as sc from "../sys/syscalls.ts";
import { PR } from "../plan/abi.ts";
import { readTextRaw } from "../sys/rawfs.ts";

function fail(what: string, err: unknown): never {
  if (err instanceof SyscallError) throw new DenkiError(`${what}: ${err.message}`);
  throw err;
}

/** Hides the init from ptrace and core dumps while it works (execve resets this). */
export function setNotDumpable(): void {
  sc.prctl(PR.SET_DUMPABLE, 0);
}

/** hostname, domainname, sysctls and oom_score_adj (needs /proc of the container). */
export function applySystemSettings(spec: Spec): void {
  try {
    if (spec.hostname) sc.sethostname(spec.hostname);
    if (spec.domainname) sc.setdomainname(spec.domainname);
  } catch (err) {
    fail("cannot set the hostname", err);
  }
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    try {
      sc.writeTextRaw(`/proc/sys/${key.replaceAll(".", "/")}`, value);
    } catch (err) {
      fail(`cannot set sysctl ${key}=${value}`, err);
    }
  }
  const oom = spec.process?.oomScoreAdj;
  if (oom !== undefined) {
    try {
      sc.writeTextRaw("/proc/self/oom_score_adj", String(oom));
    } catch (err) {
      fail(`cannot set oomScoreAdj ${oom}`, err);
    }
  }
}

/** process.rlimits as plans for the stage (applied at the last moment before the workload). */
export function rlimitPlans(spec: Spec): RlimitPlan[] {
  return (spec.process?.rlimits ?? []).map((r) => ({
    name: r.type,
    resource: RLIMITS[r.type]!,
    soft: BigInt(r.soft),
    hard: BigInt(r.hard),
  }));
}

/**
 * Checks process.rlimits the kernel could refuse, while `create` can still fail cleanly: the
 * limits themselves go on in the native stage after Deno is gone, but a hard limit above the
 * current one needs CAP_SYS_RESOURCE (and RLIMIT_NOFILE at most fs.nr_open), so such hard
 * limits are raised here already (raising one constrains nothing).
 */
export function prepareRlimits(plans: readonly RlimitPlan[]): void {
  for (const r of plans) {
    const now = sc.getrlimit(r.resource);
    if (r.hard <= now.hard) continue;
    try {
      sc.setrlimit(r.resource, now.soft, r.hard, r.name);
    } catch (err) {
      fail(`cannot set ${r.name} to ${r.soft}/${r.hard}`, err);
    }
  }
}

/** umask and chdir to process.cwd, checking where the chdir really landed. */
export function applyCwd(spec: Spec): void {
  const p = spec.process;
  if (p === undefined) return;
  sc.umask(p.user?.umask ?? 0o022);
  try {
    sc.chdir(p.cwd);
    const now = sc.getcwd();
    if (!now.startsWith("/")) throw new DenkiError(`process.cwd ${p.cwd} is outside the root`);
  } catch (err) {
    fail(`cannot change to process.cwd ${p.cwd}`, err);
  }
}

/** The user, groups and capability masks a config asks for; unknown names are an error. */
export function credentialPlan(spec: Spec): CredentialPlan {
  const p = spec.process;
  const caps = p?.capabilities ?? {};
  const unknown: string[] = [];
  const mask = (names: readonly string[] | undefined) => {
    const r = capMask(names ?? []);
    unknown.push(...r.unknown);
    return r.mask;
  };
  const plan: CredentialPlan = {
    uid: p?.user?.uid ?? 0,
    gid: p?.user?.gid ?? 0,
    additionalGids: p?.user?.additionalGids ?? [],
    bounding: mask(caps.bounding),
    effective: mask(caps.effective),
    permitted: mask(caps.permitted),
    inheritable: mask(caps.inheritable),
    ambient: mask(caps.ambient),
    noNewPrivileges: p?.noNewPrivileges === true,
  };
  if (unknown.length > 0) {
    throw new DenkiError(
      `unknown capabilities in process.capabilities: ${[...new Set(unknown)].join(", ")}`,
    );
  }
  return plan;
}

/**
 * Marks `c` for a user namespace that denies setgroups (a rootless map of the caller's own
 * gid, made by this container or by the one whose namespace it joined): the kernel's word,
 * read from /proc, so it holds for joined namespaces too. Additional gids are refused then.
 */
export function heedSetgroups(c: CredentialPlan): void {
  if (readTextRaw("/proc/thread-self/setgroups")?.trim() === "deny") denySetgroups(c);
}

/**
 * Marks `c` for a user namespace that denies setgroups: no setgroups call; additional gids
 * are refused (`what` prefixes the error, e.g. the exec).
 */
export function denySetgroups(c: CredentialPlan, what = "process.user.additionalGids"): void {
  if (c.additionalGids.length > 0) {
    throw new DenkiError(
      `${what}: additional gids need setgroups, which the user namespace denies ` +
        "(map gids with newgidmap: a range in /etc/subgid)",
    );
  }
  c.setgroupsDenied = true;
}

/** Notes for the debug log on ambient capabilities the kernel will not raise (runc skips them). */
export function ambientNotes(c: CredentialPlan): string[] {
  const notes: string[] = [];
  for (let cap = 0; cap <= CAP_LAST; cap++) {
    const bit = 1n << BigInt(cap);
    if ((c.ambient & bit) !== 0n && (c.inheritable & c.permitted & bit) === 0n) {
      notes.push(`ambient capability ${cap} skipped: not in the permitted and inheritable sets`);
    }
  }
  return notes;
}

/**
 * Refuses capabilities the runtime does not hold itself (this machine's root may lack some).
 * In a user namespace the process gets every capability of that namespace, up to the bounding
 * set it inherits: that set is what it can have (`inUserns`).
 */
export function checkCapabilities(c: CredentialPlan, retain: bigint, inUserns = false): void {
  const have = inUserns ? boundingSet() : sc.capget().permitted;
  const missing = (c.permitted | c.effective | c.inheritable | retain) & ~have;
  if (missing !== 0n) {
    throw new DenkiError(
      `cannot grant capabilities the runtime does not have (mask 0x${missing.toString(16)})`,
    );
  }
}

/** This process's capability bounding set (CapBnd of /proc/self/status). */
function boundingSet(): bigint {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readTextRaw("/proc/self/status") ?? "");
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/**
 * Drops the bounding set, switches to the user and groups (raw calls: only this thread, which
 * later execs), sets the capability sets, the ambient set and no_new_privs. `retain` keeps
 * capabilities (CAP_SYS_ADMIN for a filter that goes on later) until the stage drops them.
 */
export function applyCredentials(c: CredentialPlan, retain: bigint): void {
  checkCapabilities(c, retain);
  for (let cap = 0; cap <= CAP_LAST; cap++) {
    if (((c.bounding | retain) & (1n << BigInt(cap))) !== 0n) continue;
    try {
      sc.prctl(PR.CAPBSET_DROP, cap);
    } catch (err) {
      // Capabilities newer than this kernel do not exist in its bounding set.
      if (!(err instanceof SyscallError && err.errno === sc.Errno.EINVAL)) {
        fail(`cannot drop capability ${cap} from the bounding set`, err);
      }
    }
  }
  try {
    sc.prctl(PR.SET_KEEPCAPS, 1);
    if (!c.setgroupsDenied) sc.setgroups(c.additionalGids);
    sc.setresgid(c.gid);
    sc.setresuid(c.uid);
    sc.prctl(PR.SET_KEEPCAPS, 0);
  } catch (err) {
    fail(`cannot switch to user ${c.uid}:${c.gid}`, err);
  }
  try {
    sc.capset({
      effective: c.effective | retain,
      permitted: c.permitted | retain,
      inheritable: c.inheritable,
    });
    sc.prctl(PR.CAP_AMBIENT, PR.CAP_AMBIENT_CLEAR_ALL);
    for (let cap = 0; cap <= CAP_LAST; cap++) {
      const bit = 1n << BigInt(cap);
      if ((c.ambient & c.inheritable & c.permitted & bit) === 0n) continue;
      sc.prctl(PR.CAP_AMBIENT, PR.CAP_AMBIENT_RAISE, cap);
    }
  } catch (err) {
    fail("cannot set capabilities", err);
  }
  if (c.noNewPrivileges) {
    try {
      sc.prctl(PR.SET_NO_NEW_PRIVS, 1);
    } catch (err) {
      fail("cannot set no_new_privs", err);
    }
  }
}

/** Gives up the capabilities `applyCredentials` kept for a filter, once the filter is on. */
export function dropRetained(c: CredentialPlan, retain: bigint): void {
  try {
    for (const cap of boundingDrops(c, retain)) sc.prctl(PR.CAPBSET_DROP, cap);
    sc.capset({ effective: c.effective, permitted: c.permitted, inheritable: c.inheritable });
  } catch (err) {
    fail("cannot drop the capabilities kept for the seccomp filter", err);
  }
}
