/**
 * Which cgroup a container gets, following runc's cgroupfs drivers (libcontainer/cgroups/fs
 * `subsysPath` and fs2 `defaultDirPath`). `linux.cgroupsPath` absolute: that path under each
 * hierarchy's root. Relative, or absent (then the container id is the relative path): below
 * the caller's own cgroup, so the container stays inside the caller's limits:
 * - a v1 hierarchy: below the caller's cgroup in that hierarchy;
 * - the cgroup2 hierarchy of a v2-only host: below the PARENT of the caller's cgroup (the
 *   caller's own has processes in it, so it can hand no controllers down to a child);
 * - the cgroup2 mount of a hybrid host: at the top of that hierarchy, as runc does (its
 *   `GetOwnCgroupPath("")` answers the bare mount point).
 * systemd's `slice:prefix:name` form is recognised so that it can be refused clearly rather
 * than made into a directory.
 */
import { DenkiError, PATH_QUOTE, quote } from "../errors.ts";

/** A systemd cgroup path, parsed. */
export interface SystemdPath {
  slice: string;
  prefix: string;
  name: string;
}

const SYSTEMD_FORM = /^([^/:]*):([^/:]*):([^/:]+)$/;

/** Parses `slice:prefix:name`; undefined when the text does not have that form. */
export function parseSystemdPath(text: string): SystemdPath | undefined {
  const m = SYSTEMD_FORM.exec(text);
  if (m === null) return undefined;
  return { slice: m[1]!, prefix: m[2]!, name: m[3]! };
}

/** Normalises a path the way the kernel would see it: no "." or "..", no doubled slashes. */
function clean(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

/**
 * The container's cgroup path as runc's specconv leaves it: absolute ("/a/b", cleaned) or
 * relative to the caller's cgroup ("ID" by default; "../x" is clamped to "x", as runc's
 * CleanPath does). `systemd` is the `--systemd-cgroup` flag; without a running systemd (denki
 * has no systemd driver) a systemd path is refused.
 */
export function containerCgroupPath(
  cgroupsPath: string | undefined,
  id: string,
  systemd: boolean,
): string {
  const sd = cgroupsPath === undefined ? undefined : parseSystemdPath(cgroupsPath);
  if (systemd || sd !== undefined) {
    const shown = cgroupsPath === undefined ? "(none)" : quote(cgroupsPath, PATH_QUOTE);
    if (systemd && cgroupsPath !== undefined && sd === undefined) {
      throw new DenkiError(
        `linux.cgroupsPath ${shown}: with --systemd-cgroup it must be "slice:prefix:name"`,
      );
    }
    throw new DenkiError(
      `linux.cgroupsPath ${shown}: systemd cgroup paths need denki's systemd driver, which it does not have; use a cgroupfs path such as "/mygroup/${id}" and no --systemd-cgroup`,
    );
  }
  const given = cgroupsPath === undefined || cgroupsPath === "" ? id : cgroupsPath;
  const absolute = given.startsWith("/");
  const path = absolute ? clean(given) : clean(given).slice(1);
  if (path === "/" || path === "") {
    const what = absolute ? "the root cgroup" : "the caller's own cgroup";
    throw new DenkiError(
      `linux.cgroupsPath ${
        quote(given, PATH_QUOTE)
      }: names ${what}; a container needs a cgroup of its own`,
    );
  }
  return path;
}

/**
 * The caller's cgroup in each hierarchy, from /proc/self/cgroup text: every v1 controller
 * (and "name=..." hierarchy) of a line maps to its path, and "" to the cgroup2 path.
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    // hierarchy-ID:controller-list:cgroup-path; the path may itself contain colons.
    const first = line.indexOf(":");
    const second = first < 0 ? -1 : line.indexOf(":", first + 1);
    if (second < 0) continue;
    const path = line.slice(second + 1);
    if (!path.startsWith("/")) continue;
    for (const name of line.slice(first + 1, second).split(",")) {
      if (!out.has(name)) out.set(name, path);
    }
  }
  return out;
}

/** How runc places a relative path in one hierarchy (see the module comment). */
export type Placement = "v1" | "unified" | "hybrid-unified";

/**
 * The container's cgroup in one hierarchy: `path` from `containerCgroupPath`, `own` the
 * caller's cgroup there (from /proc/self/cgroup; the root when unknown).
 */
export function placeCgroup(path: string, placement: Placement, own: string | undefined): string {
  if (path.startsWith("/")) return path;
  const base = own ?? "/";
  switch (placement) {
    case "v1":
      return clean(`${base}/${path}`);
    case "unified":
      return clean(`${clean(base).replace(/\/[^/]*$/, "")}/${path}`);
    case "hybrid-unified":
      return clean(`/${path}`);
  }
}
