/**
 * Running denki as an unprivileged user (nobody), the way a rootless Wasm sandbox is used: a
 * copy of the launcher, a fresh bundle and Deno in a temp dir the user owns (the checkout may
 * be under /root), runs through `setpriv`, and everything removed afterwards.
 */
import { bundle } from "../../bin/bundle.ts";
import { run, type RunResult } from "../support/denki.ts";

/** The uid and gid of nobody. */
export const NOBODY = 65534;

/** A temp dir holding denki for nobody; `denki` runs it as nobody. */
export interface Rootless {
  /** Owned by nobody after each run; put bundles and test trees here. */
  dir: string;
  /** `denki ARGS` as nobody, with its state under dir/home. */
  denki(args: string[]): Promise<RunResult>;
}

/** Runs `fn` with a fresh Rootless and removes it after, also on failure. */
export async function withRootless(fn: (r: Rootless) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "denki-rootless-" });
  try {
    // The launcher and a fresh bundle, without the sources (as in an installed copy).
    await bundle();
    const repo = new URL("../..", import.meta.url).pathname;
    const cp = new Deno.Command("cp", { args: ["-a", `${repo}bin`, dir] }).outputSync();
    if (!cp.success) throw new Error("cannot copy denki");
    Deno.copyFileSync(Deno.execPath(), `${dir}/deno`);
    Deno.chmodSync(`${dir}/deno`, 0o755);
    Deno.mkdirSync(`${dir}/home`);
    await fn({
      dir,
      async denki(args) {
        const chown = await new Deno.Command("chown", {
          args: ["-R", `${NOBODY}:${NOBODY}`, dir],
        }).output();
        if (!chown.success) throw new Error(`cannot chown ${dir}`);
        return await run(
          [
            "--reuid",
            `${NOBODY}`,
            "--regid",
            `${NOBODY}`,
            "--clear-groups",
            `${dir}/bin/denki`,
            ...args,
          ],
          {
            program: "setpriv",
            env: { HOME: `${dir}/home`, XDG_RUNTIME_DIR: `${dir}/home`, DENKI_DENO: `${dir}/deno` },
          },
        );
      },
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
