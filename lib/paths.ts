/** POSIX path helpers (std/path is on JSR, which is unreachable here; node:path is off the hot path). */

/** True for paths starting with "/". */
export function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/** Lexically cleans a path: collapses "//", removes ".", resolves ".." (never above "/"). */
export function normalize(p: string): string {
  if (p === "") return ".";
  const abs = isAbsolute(p);
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
      continue;
    }
    out.push(part);
  }
  const body = out.join("/");
  if (abs) return "/" + body;
  return body === "" ? "." : body;
}

/** Joins segments with "/" and normalizes the result. */
export function join(...parts: string[]): string {
  return normalize(parts.filter((p) => p !== "").join("/"));
}

/** Resolves `p` against `base` (absolute `p` wins), normalized. */
export function resolve(base: string, p: string): string {
  return isAbsolute(p) ? normalize(p) : join(base, p);
}

/** The directory part of a path ("/" for top-level entries, "." for bare names). */
export function dirname(p: string): string {
  const n = normalize(p);
  const i = n.lastIndexOf("/");
  if (i === -1) return ".";
  return i === 0 ? "/" : n.slice(0, i);
}

/** The last component of a path. */
export function basename(p: string): string {
  const n = normalize(p);
  if (n === "/") return "/";
  return n.slice(n.lastIndexOf("/") + 1);
}
