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
  /**
   * Send stdout/stderr to files instead of pipes: needed whenever a container outlives the
   * command (create, run -d), because the container keeps the stdio it inherited open.
   */
  files?: boolean;
  /** Text for the command's stdin (otherwise /dev/null). */
  input?: string;
}

/** Runs denki (or `opts.program`) with `args` and collects its output. */
export async function run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (opts.files) return await runWithFiles(args, opts);
  const child = new Deno.Command(opts.program ?? LAUNCHER, {
    args,
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    clearEnv: true,
    env: {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      DENKI_DENO: Deno.execPath(),
      ...opts.env,
    },
    stdin: opts.input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.input));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function runWithFiles(args: string[], opts: RunOptions): Promise<RunResult> {
  const dir = Deno.makeTempDirSync({ prefix: "denki-out-" });
  try {
    const r = await run(
      ["-c", 'exec "$0" "$@" </dev/null >"$OUT" 2>"$ERR"', opts.program ?? LAUNCHER, ...args],
      {
        ...opts,
        files: false,
        program: "/bin/sh",
        env: { ...opts.env, OUT: `${dir}/out`, ERR: `${dir}/err` },
      },
    );
    return {
      code: r.code,
      stdout: Deno.readTextFileSync(`${dir}/out`),
      stderr: Deno.readTextFileSync(`${dir}/err`),
    };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = "denki-test-"): { path: string; cleanup: () => void } {
  const path = Deno.makeTempDirSync({ prefix });
  return { path, cleanup: () => Deno.removeSync(path, { recursive: true }) };
}
