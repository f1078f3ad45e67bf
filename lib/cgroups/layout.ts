/**
 * Where the host's cgroup hierarchies are: v1 controllers each on their own mount, a cgroup2
 * ("unified") mount, or both (hybrid), and the caller's own cgroup in each. Parsed from
 * /proc/self/mountinfo and /proc/self/cgroup; pure apart from `hostLayout`, so tests feed it
 * text.
 */
import { readTextRaw } from "../sys/rawfs.ts";
import { parseProcCgroup } from "./path.ts";

/** One mounted hierarchy. */
export interface Hierarchy {
  /** Mount point, e.g. /sys/fs/cgroup/memory. */
  mount: string;
  /** The cgroup shown at the mount point (mountinfo field 4; "/" unless namespaced). */
  root: string;
  /** The caller's own cgroup in this hierarchy (from /proc/self/cgroup), when known. */
  own?: string;
}

/** The host's cgroup hierarchies. */
export interface Layout {
  /** v1 controller name (and "name=systemd" style names) to its hierarchy. */
  v1: Map<string, Hierarchy>;
  /** The cgroup2 hierarchy, with the controllers its root offers. */
  unified?: Hierarchy & { controllers: Set<string> };
}

/** "unified" (v2 only), "legacy" (v1 only), "hybrid" (both) or "none". */
export function layoutMode(layout: Layout): "unified" | "legacy" | "hybrid" | "none" {
  const v1 = [...layout.v1.keys()].some((k) => !k.startsWith("name="));
  if (layout.unified && !v1) return "unified";
  if (layout.unified) return "hybrid";
  return v1 ? "legacy" : "none";
}

/**
 * Parses mountinfo text into the hierarchies; a controller mounted twice keeps its first
 * mount. `selfCgroup` is the caller's /proc/self/cgroup text, which places relative paths.
 */
export function parseLayout(mountinfo: string, unifiedControllers = "", selfCgroup = ""): Layout {
  const layout: Layout = { v1: new Map() };
  const own = parseProcCgroup(selfCgroup);
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (pre === undefined || post === undefined) continue;
    const fields = pre.split(" ");
    const root = unescape(fields[3] ?? "/");
    const mount = unescape(fields[4] ?? "");
    const [fstype, , superOpts = ""] = post.split(" ");
    if (fstype === "cgroup2") {
      layout.unified ??= {
        mount,
        root,
        controllers: new Set(unifiedControllers.split(/\s+/).filter((c) => c !== "")),
        ...withOwn(own.get("")),
      };
    } else if (fstype === "cgroup") {
      for (const opt of superOpts.split(",")) {
        if (
          opt === "rw" || opt === "ro" ||
          (NON_CONTROLLER_OPTIONS.has(opt) && !opt.startsWith("name="))
        ) {
          continue;
        }
        if (!layout.v1.has(opt)) layout.v1.set(opt, { mount, root, ...withOwn(own.get(opt)) });
      }
    }
  }
  return layout;
}

/** Super options of a v1 cgroup mount that are not controller names. */
export const NON_CONTROLLER_OPTIONS: ReadonlySet<string> = new Set([
  "xattr",
  "noprefix",
  "clone_children",
  "cpuset_v2_mode",
  "nsdelegate",
  "memory_recursiveprot",
  "favordynmods",
]);

function withOwn(own: string | undefined): { own?: string } {
  return own === undefined ? {} : { own };
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The layout of the host this process sees. */
export function hostLayout(): Layout {
  const layout = parseLayout(
    readTextRaw("/proc/self/mountinfo") ?? "",
    "",
    readTextRaw("/proc/self/cgroup") ?? "",
  );
  if (layout.unified) {
    const text = readTextRaw(`${layout.unified.mount}/cgroup.controllers`) ?? "";
    layout.unified.controllers = new Set(text.split(/\s+/).filter((c) => c !== ""));
  }
  return layout;
}
