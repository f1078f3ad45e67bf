/**
 * Which cgroup a container gets from `linux.cgroupsPath`: an absolute path is taken as it is
 * (under each hierarchy's root), a relative one goes under denki's parent cgroup, and none at
 * all gives the container a cgroup of its own named by its id. systemd's `slice:prefix:name`
 * form is recognised so that it can be refused clearly rather than made into a directory.
 */
import { DenkiError, PATH_QUOTE, quote } from "../errors.ts";

/** The parent cgroup of relative and default paths. */
export const DENKI_PARENT = "/denki";

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
 * The container's cgroup path relative to each hierarchy's root ("/denki/ID" by default).
 * `systemd` is the `--systemd-cgroup` flag; without a running systemd (denki has no systemd
 * driver) a systemd path is refused.
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
  if (cgroupsPath === undefined || cgroupsPath === "") return `${DENKI_PARENT}/${id}`;
  const path = cgroupsPath.startsWith("/")
    ? clean(cgroupsPath)
    : clean(`${DENKI_PARENT}/${cgroupsPath}`);
  if (path === "/") {
    throw new DenkiError(
      `linux.cgroupsPath ${
        quote(cgroupsPath, PATH_QUOTE)
      }: names the root cgroup; a container needs a cgroup of its own`,
    );
  }
  return path;
}
