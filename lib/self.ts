/**
 * How denki runs itself again (the container init, later issues): the compiled binary is
 * simply re-executed; from source, Deno runs main.ts with the flags in bin/deno-flags, the
 * same ones the launcher and the compiled binary use.
 */

/** The argv (program first) that runs denki with `args`. */
export function selfCommand(args: readonly string[]): string[] {
  if (Deno.build.standalone) return [Deno.execPath(), ...args];
  const main = new URL("../main.ts", import.meta.url);
  const flags = Deno.readTextFileSync(new URL("../bin/deno-flags", import.meta.url)).trim();
  return [Deno.execPath(), "run", ...flags.split(/\s+/), main.pathname, ...args];
}
