/**
 * A new user namespace's id maps: what the kernel and newuidmap/newgidmap would refuse, found
 * before anything is made (`idMapProblems`), and writing them for a process that has just
 * called unshare(CLONE_NEWUSER) and waits (`writeIdMaps`). The rules are the kernel's
 * (kernel/user_namespace.c `map_write`, `new_idmap_permitted`) and shadow's (newuidmap's
 * `verify_range`); runc and crun enforce the same ones.
 *
 * On `create`'s path: no npm: or node: imports.
 */
import { causeOf, DenkiError } from "../errors.ts";
import { AT_FDCWD, O_CLOEXEC, O_WRONLY } from "../plan/abi.ts";
import { describeErrno, Errno } from "../plan/errno.ts";
import { passwdEntry } from "../plan/passwd.ts";
import type { IdMapping } from "../spec/config.ts";
import { close } from "../sys/call.ts";
import { tryOpenat, writeSome } from "../sys/file.ts";
import { readTextRaw } from "../sys/rawfs.ts";

/** Lines a uid_map or gid_map takes (UID_GID_MAP_MAX_EXTENTS, 340 since Linux 4.15). */
export const MAX_MAP_LINES = 340;

/** Bytes a map write may have: the kernel wants it below one page (4096 on every target). */
export const MAX_MAP_BYTES = 4095;

/** The largest id; 2^32-1 is (uid_t)-1, "no id", which a map cannot name. */
const LAST_ID = 0xffff_fffe;

/** uid or gid: which map, file, helper and subordinate-id file. */
export type IdKind = "uid" | "gid";

/** Who runs denki: its real uid and gid on the host. */
export interface IdCaller {
  uid: number;
  gid: number;
}

/** The files and search path the checks read; tests point them at temp files. */
export interface IdMapHost {
  /** The host's user database, to find the caller's name for /etc/subuid. */
  passwd: string;
  subuid: string;
  subgid: string;
  /** denki's own maps: the host ids of a map must exist in denki's own user namespace. */
  selfUidMap: string;
  selfGidMap: string;
  /** Where newuidmap and newgidmap are looked for (denki has no PATH: it runs without env). */
  helperPath: string;
}

/** The real host. */
export const HOST: IdMapHost = {
  passwd: "/etc/passwd",
  subuid: "/etc/subuid",
  subgid: "/etc/subgid",
  selfUidMap: "/proc/self/uid_map",
  selfGidMap: "/proc/self/gid_map",
  helperPath: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

/** The maps of a config, as linux.uidMappings and linux.gidMappings hold them. */
export interface IdMapsInput {
  uidMappings?: readonly IdMapping[] | undefined;
  gidMappings?: readonly IdMapping[] | undefined;
}

/** The kernel's text for a uid_map or gid_map: "<inside> <outside> <count>\n" per line. */
export function mapText(maps: readonly IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

const validId = (n: number) => Number.isInteger(n) && n >= 0 && n <= LAST_ID;

/** "a-b" for an id range (or "a" for one id). */
function span(first: number, size: number): string {
  return size === 1 ? `${first}` : `${first}-${first + size - 1}`;
}

/**
 * What the kernel would refuse in one map, whoever writes it: no lines, more than 340, size 0,
 * an id that is not one, a range running past the last id, ranges overlapping inside or
 * outside, text over a page. `where` names the map ("linux.uidMappings") in each reason.
 */
export function mapShapeProblems(maps: readonly IdMapping[], where: string): string[] {
  if (maps.length === 0) return [`${where}: empty; a user namespace needs at least one mapping`];
  const problems: string[] = [];
  if (maps.length > MAX_MAP_LINES) {
    problems.push(`${where}: ${maps.length} mappings; the kernel takes at most ${MAX_MAP_LINES}`);
  }
  const ok: number[] = [];
  maps.forEach((m, i) => {
    const at = `${where}[${i}]`;
    const bad: string[] = [];
    if (!validId(m.containerID)) bad.push(`containerID ${m.containerID} is not a valid id`);
    if (!validId(m.hostID)) bad.push(`hostID ${m.hostID} is not a valid id`);
    if (!Number.isInteger(m.size) || m.size <= 0) bad.push(`size must be at least 1`);
    else {
      // The kernel refuses first + count past 2^32-1 (its 32-bit sum wraps).
      for (
        const [field, first] of [["containerID", m.containerID], ["hostID", m.hostID]] as const
      ) {
        if (validId(first) && first + m.size > LAST_ID + 1) {
          bad.push(`${field} ${first} + size ${m.size} runs past the last id ${LAST_ID}`);
        }
      }
    }
    if (bad.length > 0) problems.push(`${at}: ${bad.join("; ")}`);
    else ok.push(i);
  });
  // Overlaps among the well-formed lines, inside (containerID) and outside (hostID).
  for (let a = 0; a < ok.length; a++) {
    for (let b = 0; b < a; b++) {
      const x = maps[ok[a]!]!;
      const y = maps[ok[b]!]!;
      for (const side of ["containerID", "hostID"] as const) {
        if (x[side] < y[side] + y.size && y[side] < x[side] + x.size) {
          const ids = side === "containerID" ? "container" : "host";
          problems.push(
            `${where}[${ok[a]}]: ${ids} ids ${span(x[side], x.size)} overlap ${where}[${ok[b]}]`,
          );
        }
      }
    }
  }
  if (problems.length === 0) {
    const bytes = mapText(maps).length;
    if (bytes > MAX_MAP_BYTES) {
      problems.push(`${where}: ${bytes} bytes as text; the kernel takes at most ${MAX_MAP_BYTES}`);
    }
  }
  return problems;
}

/** An id range [start, start + count). */
interface Range {
  start: number;
  count: number;
}

/** True when [start, start + size) lies inside the union of `ranges` (adjacent ones join). */
function covered(start: number, size: number, ranges: readonly Range[]): boolean {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let reach = start; // ids below `reach` are covered
  for (const r of sorted) {
    if (r.start > reach) break;
    reach = Math.max(reach, r.start + r.count);
    if (reach >= start + size) return true;
  }
  return false;
}

/** The caller's ranges in /etc/subuid text (`owner:start:count`), matched by name or uid. */
export function subordinateRanges(text: string, name: string | undefined, uid: number): Range[] {
  const out: Range[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length !== 3 || !/^\d{1,10}$/.test(f[1]!) || !/^\d{1,10}$/.test(f[2]!)) continue;
    if (f[0] !== name && f[0] !== String(uid)) continue;
    const start = Number(f[1]);
    const count = Number(f[2]);
    if (count > 0) out.push({ start, count });
  }
  return out;
}

/** The inside ranges of a uid_map text: the ids that exist in that namespace. */
function mapInside(text: string): Range[] {
  const out: Range[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length === 3) out.push({ start: Number(f[0]), count: Number(f[2]) });
  }
  return out;
}

/** The first few ranges for a message ("none" when there are none). */
function listRanges(ranges: readonly Range[]): string {
  if (ranges.length === 0) return "none";
  const shown = ranges.slice(0, 4).map((r) => span(r.start, r.count)).join(", ");
  return ranges.length > 4 ? `${shown} and ${ranges.length - 4} more` : shown;
}

/** A file's text; undefined when it is missing; throws a one-line reason when unreadable. */
function readHostFile(path: string): string | undefined {
  try {
    return readTextRaw(path);
  } catch (err) {
    throw new DenkiError(`cannot read ${path}: ${causeOf(err)}`);
  }
}

/** The helper's path in `searchPath`, or undefined when it is not installed. */
export function findHelper(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(":")) {
    if (!dir.startsWith("/")) continue; // never a relative directory for a setuid helper
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** True when a map is the one line a non-root caller may write itself: its own id, size 1. */
export function ownIdOnly(maps: readonly IdMapping[], ownId: number): boolean {
  return maps.length === 1 && maps[0]!.size === 1 && maps[0]!.hostID === ownId;
}

/**
 * Every reason the maps of a new user namespace cannot be written by this caller, one line
 * each (empty when they can): the kernel's shape rules for each map, host ids that do not
 * exist in denki's own user namespace, and, for a non-root caller, host ids that are neither
 * its own id nor in its /etc/subuid (/etc/subgid) ranges, or that need newuidmap (newgidmap)
 * when it is not installed.
 */
export function idMapProblems(
  input: IdMapsInput,
  caller: IdCaller,
  host: Partial<IdMapHost> = {},
): string[] {
  const h = { ...HOST, ...host };
  const problems: string[] = [];
  let passwd: string | undefined | null = null; // null: not read yet
  for (const kind of ["uid", "gid"] as const) {
    const where = kind === "uid" ? "linux.uidMappings" : "linux.gidMappings";
    const maps = (kind === "uid" ? input.uidMappings : input.gidMappings) ?? [];
    const shape = mapShapeProblems(maps, where);
    if (shape.length > 0) {
      problems.push(...shape);
      continue;
    }
    try {
      const self = readHostFile(kind === "uid" ? h.selfUidMap : h.selfGidMap);
      if (self !== undefined) {
        const inside = mapInside(self);
        maps.forEach((m, i) => {
          if (!covered(m.hostID, m.size, inside)) {
            problems.push(
              `${where}[${i}]: host ${kind}s ${span(m.hostID, m.size)} do not exist in ` +
                `denki's own user namespace`,
            );
          }
        });
      }
      if (caller.uid === 0) continue;
      const own = kind === "uid" ? caller.uid : caller.gid;
      if (ownIdOnly(maps, own)) continue;
      const subFile = kind === "uid" ? h.subuid : h.subgid;
      if (maps.some((m) => !(m.size === 1 && m.hostID === own))) {
        if (passwd === null) passwd = readHostFile(h.passwd);
        const name = passwdEntry(passwd, caller.uid)?.name;
        const ranges = subordinateRanges(readHostFile(subFile) ?? "", name, caller.uid);
        const who = name === undefined ? `uid ${caller.uid}` : `${name} (uid ${caller.uid})`;
        maps.forEach((m, i) => {
          if (m.size === 1 && m.hostID === own) return;
          if (covered(m.hostID, m.size, ranges)) return;
          problems.push(
            `${where}[${i}]: host ${kind}s ${span(m.hostID, m.size)} are neither your own ` +
              `${kind} ${own} nor inside your ranges in ${subFile} (${who} has ` +
              `${listRanges(ranges)})`,
          );
        });
      }
      const helper = `new${kind}map`;
      if (findHelper(helper, h.helperPath) === undefined) {
        problems.push(`mapping ${kind}s beyond your own needs ${helper} (Debian package uidmap)`);
      }
    } catch (err) {
      problems.push(`${where}: ${causeOf(err)}`);
    }
  }
  return problems;
}

/** A file of /proc/<pid>. */
const procFile = (pid: number, name: string) => `/proc/${pid}/${name}`;

/** Writes `text` to a /proc file of `pid` with exactly one write(2), as the kernel requires. */
function writeOnce(pid: number, name: string, text: string, what: string): void {
  const path = procFile(pid, name);
  const bytes = new TextEncoder().encode(text);
  const fail = (cause: string) =>
    new DenkiError(`cannot write ${what} for process ${pid} to ${path}: ${cause}`);
  const { fd, errno } = tryOpenat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    const gone = errno === Errno.ENOENT || errno === Errno.ESRCH ? " (the process is gone)" : "";
    throw fail(describeErrno(errno) + gone);
  }
  try {
    const r = writeSome(fd, bytes);
    if (r.errno !== 0) throw fail(describeErrno(r.errno));
    if (r.n !== bytes.length) throw fail(`short write (${r.n} of ${bytes.length} bytes)`);
  } finally {
    close(fd);
  }
}

/** How long newuidmap/newgidmap may take before denki gives up on it. */
const HELPER_TIMEOUT_MS = 10_000;

/** Runs newuidmap or newgidmap for `pid`; throws a one-line error with its stderr. */
async function runHelper(
  kind: IdKind,
  pid: number,
  maps: readonly IdMapping[],
  searchPath: string,
): Promise<void> {
  const name = `new${kind}map`;
  const path = findHelper(name, searchPath);
  const triples = maps.flatMap((m) => [m.containerID, m.hostID, m.size].map(String));
  const shown = `${name} ${pid} ${triples.slice(0, 6).join(" ")}${
    triples.length > 6 ? " ..." : ""
  }`;
  const fail = (cause: string) =>
    new DenkiError(`cannot map the ${kind}s of process ${pid}: ${cause}`);
  if (path === undefined) throw fail(`${name} is not installed (Debian package uidmap)`);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(path, {
      args: [String(pid), ...triples],
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(HELPER_TIMEOUT_MS),
    }).output();
  } catch (err) {
    throw fail(`${shown}: ${causeOf(err)}`);
  }
  if (out.success) return;
  const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").join("; ");
  const status = out.signal !== null
    ? `killed by ${out.signal}${out.signal === "SIGTERM" ? " (timed out)" : ""}`
    : `exit status ${out.code}`;
  const said = stderr === ""
    ? ""
    : `: ${stderr.length > 300 ? `${stderr.slice(0, 300)}...` : stderr}`;
  throw fail(`${shown}: ${status}${said}`);
}

/**
 * Whether `writeIdMaps` denies setgroups in the namespace: a caller that is not root writing
 * a gid map of just its own gid itself (the kernel's condition for that write).
 */
export function deniesSetgroups(gidMaps: readonly IdMapping[], caller: IdCaller): boolean {
  return caller.uid !== 0 && ownIdOnly(gidMaps, caller.gid);
}

/**
 * Writes the uid and gid maps of process `pid`, which has just made its user namespace and
 * waits. Root writes /proc/<pid>/gid_map then uid_map (setgroups stays "allow", so the
 * container may call setgroups). A non-root caller writes a map of just its own id itself,
 * after "deny" to /proc/<pid>/setgroups when that is the gid map (the kernel's condition);
 * other maps go through newgidmap/newuidmap, which check /etc/subgid and /etc/subuid.
 * Check the maps with `idMapProblems` first.
 */
export async function writeIdMaps(
  pid: number,
  uidMaps: readonly IdMapping[],
  gidMaps: readonly IdMapping[],
  caller: IdCaller,
  helperPath = HOST.helperPath,
): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new DenkiError(`cannot write the id maps of process ${pid}: not a process id`);
  }
  const root = caller.uid === 0;
  const deny = deniesSetgroups(gidMaps, caller);
  const gidDirect = root || deny;
  const uidDirect = root || ownIdOnly(uidMaps, caller.uid);
  for (const [kind, maps] of [["gid", gidMaps], ["uid", uidMaps]] as const) {
    if (maps.length === 0) {
      throw new DenkiError(`cannot write the ${kind} map of process ${pid}: no mappings`);
    }
  }
  if (deny) writeOnce(pid, "setgroups", "deny", `"deny"`);
  if (gidDirect) writeOnce(pid, "gid_map", mapText(gidMaps), "the gid map");
  else await runHelper("gid", pid, gidMaps, helperPath);
  if (uidDirect) writeOnce(pid, "uid_map", mapText(uidMaps), "the uid map");
  else await runHelper("uid", pid, uidMaps, helperPath);
}
