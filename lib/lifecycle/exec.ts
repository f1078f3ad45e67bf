/**
 * `exec`, the runtime side: check the container can take a new process, spawn denki's
 * `exec-init` in the container's pid namespace, put it in the container's cgroup, hand it
 * the process to run, and wait for it (or, detached, leave it running with a pid file).
 */
import { Cgroup } from "../cgroups/manager.ts";
import { causeOf, DenkiError, InvalidState, SpecError } from "../errors.ts";
import type { ExecBootstrap } from "../linux/exec_init.ts";
import { withPidNamespace } from "../linux/namespaces.ts";
import type { Logger } from "../log.ts";
import { NAMESPACES } from "../plan/namespaces.ts";
import { signalName } from "../plan/signals.ts";
import { selfCommand } from "../self.ts";
import type { Process, Spec } from "../spec/config.ts";
import { parseSpec } from "../spec/parse.ts";
import { validateSpec } from "../spec/validate.ts";
import { currentStatus } from "../state/proc.ts";
import type { ContainerRecord } from "../state/record.ts";
import { requireStatus } from "../state/status.ts";
import { StateStore } from "../state/store.ts";
import { SyncChannel } from "../sync.ts";
import * as sc from "../sys/syscalls.ts";
import { forwardNotifyFd } from "../linux/seccomp.ts";
import { seccompCacheDir } from "../linux/seccomp_cache.ts";
import { recordHookState } from "./common.ts";
import { attachTerminal } from "./console_relay.ts";
import { type ConsoleEnds, consoleEnds, receiveMaster } from "./console_socket.ts";
import { FORWARDED, forwardSignals } from "./forward.ts";
import { writePidFile } from "./pid_file.ts";

/** What `exec` was asked to do. */
export interface ExecOptions {
  /** The process to run; `process` of config.json changed by the flags, or --process. */
  process: (spec: Spec) => Process;
  detach: boolean;
  pidFile?: string | undefined;
  preserveFds: number;
  ignorePaused: boolean;
  /** --console-socket: receives the pty master of a --tty process. */
  consoleSocket?: string | undefined;
}

/** The container's config.json, as create read it from the bundle. */
function containerSpec(rec: ContainerRecord): { spec: Spec; text: string; file: string } {
  const file = `${rec.bundle}/config.json`;
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (err) {
    throw new DenkiError(`cannot read the container's ${file}: ${causeOf(err)}`);
  }
  return { spec: parseSpec(text, file, { validate: false }), text, file };
}

/** The process after the same checks a config's process gets. */
function checkedProcess(spec: Spec, process: Process, file: string): Process {
  const issues = validateSpec({ ...spec, process }).filter((i) => i.path.startsWith("process"));
  if (process.args === undefined || process.args.length === 0) {
    issues.push({ path: "process.args", message: "must name the program to run" });
  }
  if (issues.length > 0) throw new SpecError(file, issues);
  if (process.apparmorProfile) {
    throw new DenkiError("process.apparmorProfile: AppArmor is not supported");
  }
  if (process.selinuxLabel) throw new DenkiError("process.selinuxLabel: SELinux is not supported");
  return process;
}

/** Runs a new process in a running container; returns its exit status (0 when detached). */
export async function execInContainer(
  root: string,
  id: string,
  opts: ExecOptions,
  log: Logger,
): Promise<number> {
  const store = new StateStore(root);
  const rec = store.read(id);
  const status = currentStatus(rec, store.dirOf(id));
  if (status === "paused") {
    if (!opts.ignorePaused) {
      throw new InvalidState(
        `cannot exec in container "${id}": it is paused (resume it, or use --ignore-paused)`,
      );
    }
  } else {
    requireStatus("exec", id, status);
  }
  if (rec.cgroup === undefined) {
    throw new DenkiError(
      `cannot exec in container "${id}": a rootless Wasm sandbox has no namespaces to join`,
    );
  }
  const { spec, text, file } = containerSpec(rec);
  if ((spec.linux?.namespaces ?? []).some((n) => n.type === "time")) {
    throw new DenkiError(
      `cannot exec in container "${id}": joining its time namespace needs a single-threaded process`,
    );
  }
  const process = checkedProcess(spec, opts.process(spec), "the exec process");
  // runc's rules: a detached terminal needs someone to hold its master, and a console
  // socket is only for a detached terminal.
  if (opts.detach && process.terminal && opts.consoleSocket === undefined) {
    throw new DenkiError("cannot allocate tty if denki will detach without setting console socket");
  }
  if ((!opts.detach || !process.terminal) && opts.consoleSocket !== undefined) {
    throw new DenkiError("cannot use console socket if denki will not detach or allocate tty");
  }
  const tty = process.terminal ? consoleEnds(opts.consoleSocket) : undefined;
  try {
    const seccompCache = seccompCacheDir(store.dirOf(id));
    return await spawnExec({ rec, spec, text, file, process, opts, tty, log, seccompCache });
  } finally {
    tty?.close();
  }
}

/** Everything spawnExec works from. */
interface ExecJob {
  rec: ContainerRecord;
  spec: Spec;
  /** The container's config.json text and path. */
  text: string;
  file: string;
  process: Process;
  opts: ExecOptions;
  tty: ConsoleEnds | undefined;
  log: Logger;
  seccompCache: string;
}

async function spawnExec(job: ExecJob): Promise<number> {
  const { rec, spec, text, file, process, opts, tty, log } = job;
  const id = rec.id;
  const [parentEnd, childEnd] = sc.socketpair();
  sc.setCloexec(parentEnd, true);
  const channel = new SyncChannel(parentEnd);
  let pid: number | undefined;
  let running = false;
  try {
    const [exe, ...args] = selfCommand(["exec-init", String(childEnd)]);
    const spawn = () => sc.spawn(exe!, [exe!, ...args], []);
    try {
      // Inheritable only for this spawn.
      if (tty) sc.setCloexec(tty.initEnd, false);
      const ownPidNs = (spec.linux?.namespaces ?? []).some((n) => n.type === "pid");
      if (ownPidNs) {
        let nsFd: number;
        try {
          nsFd = sc.open(`/proc/${rec.pid}/ns/${NAMESPACES.pid.proc}`, sc.O_RDONLY | sc.O_CLOEXEC);
        } catch {
          throw new InvalidState(`cannot exec in container "${id}": container not running`);
        }
        pid = withPidNamespace(nsFd, `pid namespace of ${rec.pid}`, spawn);
      } else {
        pid = spawn();
      }
    } finally {
      sc.close(childEnd);
      tty?.closeInitEnd();
    }
    log.debug(`container "${id}": exec process is pid ${pid}`);
    const hello = channel.receive();
    if (hello?.type !== "hello") throw await processDied(pid);
    new Cgroup(rec.cgroup!).joinBeside(pid, rec.pid);
    const boot: ExecBootstrap = {
      config: text,
      configFile: file,
      process,
      initPid: rec.pid,
      preserveFds: opts.preserveFds,
      bundle: rec.bundle,
      seccompCache: job.seccompCache,
      ...(tty ? { consoleSocket: tty.initEnd } : {}),
    };
    channel.send({ type: "bootstrap", ...boot });
    let answer = channel.receive();
    if (answer?.type === "seccompFd") {
      const state = recordHookState({ ...rec, pid }, "running");
      forwardNotifyFd(channel, spec.linux!.seccomp!, state, "exec process");
      answer = channel.receive();
    }
    // End of file without a word: the channel closed at execve, so the command runs.
    if (answer?.type === "error") {
      await sc.waitChild(pid);
      pid = undefined;
      throw new DenkiError(String(answer.message));
    }
    if (answer !== undefined) {
      throw new DenkiError(`exec process sent an unexpected message: ${JSON.stringify(answer)}`);
    }
    running = true;
    if (opts.pidFile !== undefined) writePidFile(opts.pidFile, pid);
    if (opts.detach) return 0;
    if (tty?.keep === undefined) return await waitForwarding(pid);
    // The master came before the exec, so it is already waiting on our end.
    const terminal = attachTerminal(receiveMaster(tty.keep));
    const stop = forwardSignals(pid, FORWARDED.filter((s) => s !== "SIGWINCH"));
    try {
      return (await terminal.relay(pid)).code;
    } finally {
      terminal.detach();
      stop();
    }
  } catch (err) {
    if (pid !== undefined && !running) {
      sc.kill(pid, 9);
      await sc.waitChild(pid);
    }
    throw err;
  } finally {
    channel.close();
  }
}

/** Waits for the process, passing signals on; its status as a shell reports it. */
async function waitForwarding(pid: number): Promise<number> {
  const stop = forwardSignals(pid);
  try {
    return (await sc.waitChild(pid)).code;
  } finally {
    stop();
  }
}

/** The error for an exec process that ended before it could report (reaps it). */
async function processDied(pid: number): Promise<DenkiError> {
  const status = await sc.waitChild(pid);
  return new DenkiError(
    `exec process exited before it started (${
      status.signal ? `killed by ${signalName(status.signal)}` : `exit status ${status.code}`
    })`,
  );
}
