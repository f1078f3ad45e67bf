/** What every benchmark section gets: a temp dir, the launcher, and a bundle maker. */

/** Shared benchmark settings. */
export interface BenchContext {
  dir: string;
  rounds: number;
  launcher: string;
  /** The bundled entry module, which Deno runs with `flags` (as the compiled binary does). */
  entry: string;
  flags: string[];
  env: Record<string, string>;
  /** runc is installed and containers can run (root, busybox). */
  runc: boolean;
  /** crun is installed. */
  crun: boolean;
  /** A new busybox bundle whose process is `args` (undefined without root/busybox). */
  bundle?: (...args: string[]) => string;
}

/** Runs a command; throws with its stderr when it fails. */
export function runOrThrow(cmd: string, args: string[]): void {
  const out = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" })
    .outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}
