/**
 * The Linux executor: the workload is a program in the container's root, started with
 * execve(2) by the native stage the init becomes, with exactly `process.env` as its
 * environment.
 */
import { DenkiError } from "../lib/errors.ts";
import type { Spec } from "../lib/spec/config.ts";
import * as sc from "../lib/sys/syscalls.ts";
import { envWithHome, lookPathIn, withRoot } from "../lib/linux/lookpath.ts";
import { tailSteps } from "../lib/linux/launch.ts";
import { Script } from "../lib/spawn/script.ts";
import { execStage } from "../lib/spawn/stage.ts";
import { type ExecContext, type Executor, specEnv } from "../lib/executor.ts";

/** Finds args[0] in the current root (the container's, inside the init). */
export function lookPath(name: string, env: readonly string[]): string {
  return withRoot((root) => lookPathIn(root, name, env));
}

/** The Linux executor. */
export const linuxExecutor: Executor = {
  name: "linux",
  canHandle: () => true,
  validate(spec) {
    // The root is "/" here: the init has switched to the container's.
    lookPath(spec.process!.args![0]!, specEnv(spec));
  },
  handleEnvs(spec) {
    // HOME from the container's own passwd, as runc does; everything else is process.env.
    return withRoot((root) => envWithHome(root, specEnv(spec), spec.process?.user?.uid ?? 0));
  },
  exec(spec: Spec, env: string[], ctx: ExecContext): Promise<never> {
    const args = spec.process!.args!;
    const path = lookPath(args[0]!, env);
    const final = ctx.final;
    if (final === undefined) throw new DenkiError("the Linux executor needs the init's last steps");
    // Deno goes away here: the stage applies rlimits, marks every fd but stdio and the
    // preserved ones close-on-exec, installs the filter and execs, and reports a failing
    // step on the container's stderr and to `start` through the exec fifo.
    const s = new Script(Deno.build.arch);
    tailSteps(s, { ...final, preserveFds: ctx.preserveFds, path, argv: args, env }, "denki init");
    const report = { fd: 2, failCode: EXEC_FAILED, text: true };
    // The fifo must live through the stage's own exec; the stage marks it close-on-exec.
    if (ctx.startFd !== undefined) sc.setCloexec(ctx.startFd, false);
    ctx.release();
    execStage(s.build(ctx.startFd === undefined ? report : { ...report, fd2: ctx.startFd }));
  },
};

/** The status of a container whose workload could not be started after `start`. */
export const EXEC_FAILED = 255;
