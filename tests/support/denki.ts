/** Running denki the way callers do: through the bin/denki launcher, as a separate process. */

/** Absolute path of the launcher. */
export const LAUNCHER = new URL("../../bin/denki", import.meta.url).pathname;

/** What a denki run printed and how it exited. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for one run. */
export interface RunOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment (on top of DENKI_DENO and PATH). */
  env?: Record<string, string>;
  /** Program to run instead of the launcher (runc, for side-by-side checks). */
  program?: string;
}

/** Runs denki (or `opts.program`) with `args` and collects its output. */
export async function run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const out = await new Deno.Command(opts.program ?? LAUNCHER, {
    args,
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    clearEnv: true,
    env: {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      DENKI_DENO: Deno.execPath(),
      ...opts.env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = "denki-test-"): { path: string; cleanup: () => void } {
  const path = Deno.makeTempDirSync({ prefix });
  return { path, cleanup: () => Deno.removeSync(path, { recursive: true }) };
}
