/**
 * How denki runs itself again (the container init, later issues). The compiled binary is
 * simply re-executed. From source, Deno runs the same entry module this process runs
 * (main.ts, or the bundle bin/denki prefers) with the flags in bin/deno-flags, which the
 * launcher and the compiled binary use too.
 */

/** The repository root for an entry module: main.ts sits there, the bundle in bin/.bundle/. */
function rootOf(entry: URL): URL {
  return new URL(entry.pathname.endsWith("/bin/.bundle/main.js") ? "../../" : "./", entry);
}

/** The argv (program first) that runs denki with `args`; `entry` defaults to this process's. */
export function selfCommand(args: readonly string[], entry = Deno.mainModule): string[] {
  if (Deno.build.standalone) return [Deno.execPath(), ...args];
  const url = new URL(entry);
  const flags = Deno.readTextFileSync(new URL("bin/deno-flags", rootOf(url))).trim();
  return [Deno.execPath(), "run", ...flags.split(/\s+/), url.pathname, ...args];
}
