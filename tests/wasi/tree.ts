/** Directory trees as the WASI case files write them, made on disk and read back. */

/** A directory's content as in a case file: "dir/" → null, file → text, symlink → {symlink}. */
export type Tree = Record<string, string | null | { symlink: string }>;

/** Makes `tree` under `dir`. */
export function writeTree(dir: string, tree: Tree): void {
  for (const [key, value] of Object.entries(tree)) {
    const path = `${dir}/${key}`;
    const parent = path.replace(/\/[^/]*\/?$/, "");
    Deno.mkdirSync(parent, { recursive: true });
    if (key.endsWith("/")) Deno.mkdirSync(path, { recursive: true });
    else if (typeof value === "string") Deno.writeTextFileSync(path, value);
    else if (value && typeof value === "object") Deno.symlinkSync(value.symlink, path);
  }
}

/** Reads `dir` back in the Tree format (every directory listed, sorted). */
export function readTree(dir: string, prefix = ""): Tree {
  const out: Tree = {};
  for (const e of Deno.readDirSync(`${dir}/${prefix}`)) {
    const rel = `${prefix}${e.name}`;
    const path = `${dir}/${rel}`;
    if (e.isSymlink) out[rel] = { symlink: Deno.readLinkSync(path) };
    else if (e.isDirectory) {
      out[`${rel}/`] = null;
      Object.assign(out, readTree(dir, `${rel}/`));
    } else out[rel] = Deno.readTextFileSync(path);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a < b ? -1 : 1));
}

/** Fills in the directories a tree implies ("a/b/c" implies "a/" and "a/b/"), sorted. */
export function normalizeTree(tree: Tree): Tree {
  const out: Tree = { ...tree };
  for (const key of Object.keys(tree)) {
    const parts = key.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join("/")}/`;
      if (!(dir in out)) out[dir] = null;
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a < b ? -1 : 1));
}
