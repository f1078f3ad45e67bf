/** Small file-system helpers the test harnesses share. */

/** True when `path` exists (a dangling symlink counts: nothing is followed). */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
