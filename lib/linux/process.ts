/**
 * What the init applies to itself after the root switch, before it hands over to the
 * workload: UTS names, sysctls, OOM score, rlimits, umask and cwd; then credentials and
 * capabilities, all with raw system calls on the JS thread (the thread that will execve).
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { CAP_LAST, capMask } from "../plan/capabilities.ts";
import { RLIMITS } from "../plan/rlimits.ts";
import type { Spec } from "../spec/config.ts";
import * as sc from "../sys/syscalls.ts";

const PR_SET_DUMPABLE = 4;
const PR_SET_KEEPCAPS = 8;
const PR_CAPBSET_DROP = 24;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_RAISE = 2;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;

function fail(what: string, err: unknown): never {
  if (err instanceof SyscallError) throw new DenkiError(`${what}: ${err.message}`);
  throw err;
}

/** Hides the init from ptrace and core dumps while it works (execve resets this). */
export function setNotDumpable(): void {
  sc.prctl(PR_SET_DUMPABLE, 0);
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

/** process.rlimits. */
export function applyRlimits(spec: Spec): void {
  for (const r of spec.process?.rlimits ?? []) {
    const resource = RLIMITS[r.type]!;
    try {
      sc.setrlimit(resource, BigInt(r.soft), BigInt(r.hard), r.type);
    } catch (err) {
      fail(`cannot set ${r.type} to ${r.soft}/${r.hard}`, err);
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

/** The capability masks a config asks for; unknown names are an error. */
export function capabilityPlan(spec: Spec): {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
} {
  const caps = spec.process?.capabilities ?? {};
  const unknown: string[] = [];
  const mask = (names: readonly string[] | undefined) => {
    const r = capMask(names ?? []);
    unknown.push(...r.unknown);
    return r.mask;
  };
  const plan = {
    bounding: mask(caps.bounding),
    effective: mask(caps.effective),
    permitted: mask(caps.permitted),
    inheritable: mask(caps.inheritable),
    ambient: mask(caps.ambient),
  };
  if (unknown.length > 0) {
    throw new DenkiError(
      `unknown capabilities in process.capabilities: ${[...new Set(unknown)].join(", ")}`,
    );
  }
  return plan;
}

/**
 * Drops the bounding set, switches to the configured user and groups (raw calls: only this
 * thread, which then execs), sets the capability sets and the ambient set, and no_new_privs.
 * Returns notes for the debug log: an ambient capability that is not also inheritable cannot
 * be raised, and (as runc does) that is not an error.
 */
export function applyCredentials(spec: Spec): string[] {
  const notes: string[] = [];
  const p = spec.process;
  const user = p?.user ?? { uid: 0, gid: 0 };
  const plan = capabilityPlan(spec);
  const have = sc.capget();
  for (let cap = 0; cap <= CAP_LAST; cap++) {
    if ((plan.bounding & (1n << BigInt(cap))) !== 0n) continue;
    try {
      sc.prctl(PR_CAPBSET_DROP, cap);
    } catch (err) {
      // Capabilities newer than this kernel do not exist in its bounding set.
      if (!(err instanceof SyscallError && err.errno === sc.Errno.EINVAL)) {
        fail(`cannot drop capability ${cap} from the bounding set`, err);
      }
    }
  }
  try {
    sc.prctl(PR_SET_KEEPCAPS, 1);
    sc.setgroups(user.additionalGids ?? []);
    sc.setresgid(user.gid);
    sc.setresuid(user.uid);
    sc.prctl(PR_SET_KEEPCAPS, 0);
  } catch (err) {
    fail(`cannot switch to user ${user.uid}:${user.gid}`, err);
  }
  const missing = (plan.permitted | plan.effective | plan.inheritable) & ~have.permitted;
  if (missing !== 0n) {
    throw new DenkiError(
      `cannot grant capabilities the runtime does not have (mask 0x${missing.toString(16)})`,
    );
  }
  try {
    sc.capset({
      effective: plan.effective,
      permitted: plan.permitted,
      inheritable: plan.inheritable,
    });
    sc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
    for (let cap = 0; cap <= CAP_LAST; cap++) {
      if ((plan.ambient & (1n << BigInt(cap))) === 0n) continue;
      const bit = 1n << BigInt(cap);
      if ((plan.inheritable & bit) === 0n || (plan.permitted & bit) === 0n) {
        notes.push(`ambient capability ${cap} skipped: not in the permitted and inheritable sets`);
        continue;
      }
      sc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap);
    }
  } catch (err) {
    fail("cannot set capabilities", err);
  }
  if (p?.noNewPrivileges) {
    try {
      sc.prctl(PR_SET_NO_NEW_PRIVS, 1);
    } catch (err) {
      fail("cannot set no_new_privs", err);
    }
  }
  return notes;
}
