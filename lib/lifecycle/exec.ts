/**
 * `exec`, the runtime side: check the container can take a new process, plan it (program,
 * environment, credentials, filter), start it through the native stage, put it in the
 * container's cgroup, let it run, and wait for it (or, detached, leave it running with a pid
 * file).
 */
import { Cgroup } from "../cgroups/manager.ts";
import { causeOf, DenkiError, InvalidState, SpecError } from "../errors.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import { readlinkat } from "../sys/file.ts";
import { AT_FDCWD } from "../plan/abi.ts";
import {
  execLaunchScript,
  type NamespaceFd,
  retainedCaps,
  sendGo,
  stageFailure,
  startStage,
} from "../linux/launch.ts";
import { envWithHome, lookPathIn } from "../linux/lookpath.ts";
import { sharesHostMounts, userNamespaceOf } from "../linux/namespaces.ts";
import { checkCapabilities, credentialPlan, denySetgroups, rlimitPlans } from "../linux/process.ts";
import { CONSOLE_MESSAGE } from "../linux/console.ts";
import { compileCached } from "../linux/seccomp_cache.ts";
import type { Logger } from "../log.ts";
import { NAMESPACES } from "../plan/namespaces.ts";
import type { Script } from "../spawn/script.ts";
import type { Process, Spec } from "../spec/config.ts";
import { parseSpec } from "../spec/parse.ts";
import { validateSpec } from "../spec/validate.ts";
import { readProcessInfo } from "../state/proc.ts";
import type { ContainerRecord } from "../state/record.ts";
import { requireStatus } from "../state/status.ts";
import { readContainer } from "./read.ts";
import { runtimeEnd, unexpectedMessage } from "../sync.ts";
import * as sc from "../sys/syscalls.ts";
import { forwardNotifyFd } from "../linux/seccomp.ts";
import { seccompCacheDir } from "../linux/seccomp_cache.ts";
import { recordHookState } from "./common.ts";
import { attachTerminal } from "./console_relay.ts";
import { type ConsoleEnds, consoleEnds, receiveMaster } from "./console_socket.ts";
import { FORWARDED, forwardSignals } from "./forward.ts";
import { writePidFile } from "./pid_file.ts";
import { type StdioPipes, stdioPipes } from "./stdio_relay.ts";

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

/** Whether process `pid` shares this process's mount namespace (or cannot be looked at). */
function sameMountNamespace(pid: number): boolean {
  const theirs = readlinkat(AT_FDCWD, `/proc/${pid}/ns/mnt`);
  return theirs === undefined || theirs === readlinkat(AT_FDCWD, "/proc/self/ns/mnt");
}

/** The container and the checked process an exec runs (every check before anything starts). */
function prepareExec(root: string, id: string, opts: ExecOptions) {
  const { rec, status, dir } = readContainer(root, id);
  if (status === "paused") {
    if (!opts.ignorePaused) {
      throw new InvalidState(
        `cannot exec in container "${id}": it is paused (resume it, or use --ignore-paused)`,
      );
    }
  } else {
    requireStatus("exec", id, status);
  }
  // A rootless Wasm sandbox (no cgroup, and the caller's own namespaces) has nothing to join;
  // a rootless container in namespaces of its own has no cgroup either, and is joined.
  if (rec.cgroup === undefined && sameMountNamespace(rec.pid)) {
    throw new DenkiError(
      `cannot exec in container "${id}": a rootless Wasm sandbox has no namespaces to join`,
    );
  }
  const { spec } = containerSpec(rec);
  const process = checkedProcess(spec, opts.process(spec), "the exec process");
  return { rec, spec, process, seccompCache: seccompCacheDir(dir) };
}

/** Runs a new process in a running container; returns its exit status (0 when detached). */
export async function execInContainer(
  root: string,
  id: string,
  opts: ExecOptions,
  log: Logger,
): Promise<number> {
  const { rec, spec, process, seccompCache } = prepareExec(root, id, opts);
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
    return await spawnExec({ rec, spec, process, opts, tty, log, seccompCache });
  } finally {
    tty?.close();
  }
}

/** A started exec process: its pid and, with a terminal, the pty master (close-on-exec). */
export interface StartedExec {
  pid: number;
  master?: number;
}

/**
 * Starts a process in a running container for a caller that holds its stdio itself (the
 * containerd shim): `stdio` become its fds 0-2 (inherited by its spawn only), or with a
 * terminal the master comes back. It is left running, a child of this process.
 */
export async function startExec(
  root: string,
  id: string,
  opts: Omit<ExecOptions, "detach" | "consoleSocket">,
  stdio: readonly [number, number, number] | undefined,
  log: Logger,
): Promise<StartedExec> {
  const { rec, spec, process, seccompCache } = prepareExec(root, id, { ...opts, detach: true });
  const tty = process.terminal ? consoleEnds(undefined) : undefined;
  try {
    const job = { rec, spec, process, opts: { ...opts, detach: true }, tty, log, seccompCache };
    const { pid } = await launchExec(job, process.terminal ? undefined : stdio);
    if (tty?.keep === undefined) return { pid };
    try {
      return { pid, master: receiveMaster(tty.keep) };
    } catch (err) {
      sc.kill(pid, 9);
      await sc.waitChild(pid);
      throw err;
    }
  } finally {
    tty?.close();
  }
}

/** Everything spawnExec works from. */
interface ExecJob {
  rec: ContainerRecord;
  spec: Spec;
  process: Process;
  opts: ExecOptions;
  tty: ConsoleEnds | undefined;
  log: Logger;
  seccompCache: string;
}

/**
 * Opens the container init's namespaces (and its root) through /proc, then checks that the
 * pid is still that init (its start time), so a reused pid cannot point exec elsewhere.
 */
function openInit(rec: ContainerRecord, spec: Spec): { join: NamespaceFd[]; root: number } {
  const types = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
  const join: NamespaceFd[] = [];
  let root: number | undefined;
  try {
    for (const type of types) {
      const path = `/proc/${rec.pid}/ns/${NAMESPACES[type].proc}`;
      join.push({ type, fd: sc.open(path, sc.O_RDONLY) });
    }
    root = sc.open(`/proc/${rec.pid}/root`, sc.O_PATH | sc.O_DIRECTORY | sc.O_CLOEXEC);
    if (readProcessInfo(rec.pid)?.startTime !== rec.pidStartTime) throw new Error("pid reused");
    return { join, root };
  } catch {
    for (const ns of join) sc.close(ns.fd);
    if (root !== undefined) sc.close(root);
    throw new InvalidState(`cannot exec in container "${rec.id}": container not running`);
  }
}

/**
 * Runs the process through the native stage: it joins the init's namespaces from the host's
 * pid namespace, then forks the process into the container, where it sets itself up (terminal,
 * cwd, user, capabilities, rlimits, filter) and execs. Nothing but that process, with nothing
 * of the host, is ever visible inside the container.
 */
async function launchExec(
  job: ExecJob,
  stdio?: readonly [number, number, number],
): Promise<{ pid: number; pipes: StdioPipes | undefined }> {
  const { rec, spec, process, opts, tty, log } = job;
  const id = rec.id;
  const seccomp = spec.linux?.seccomp &&
    await compileCached(spec.linux.seccomp, Deno.build.arch, job.seccompCache);
  const creds = credentialPlan({ ...spec, process });
  const userns = userNamespaceOf(spec) !== undefined;
  checkCapabilities(creds, retainedCaps(creds, seccomp), userns);
  // A rootless container's namespace may deny setgroups (it maps only its owner's gid).
  if (userns && readTextRaw(`/proc/${rec.pid}/setgroups`)?.trim() === "deny") {
    denySetgroups(creds, `cannot exec in container "${id}"`);
  }
  const { join, root } = openInit(rec, spec);
  // Foreground without a terminal: the process gets pipes, never the caller's own files.
  const pipes = !opts.detach && tty === undefined && stdio === undefined ? stdioPipes() : undefined;
  const [parentEnd, childEnd] = sc.socketpair();
  sc.setCloexec(parentEnd, true);
  const channel = runtimeEnd(parentEnd, "exec process");
  let pid: number | undefined;
  let running = false;
  let script: Script;
  try {
    const args = process.args!;
    const env = envWithHome(root, process.env ?? [], creds.uid);
    const path = lookPathIn(root, args[0]!, env, process.cwd);
    if (tty) sc.setCloexec(tty.initEnd, false);
    // No mount namespace to join (it is the host's): the process chroots into the init's root.
    const chroot = sharesHostMounts(spec) ? root : undefined;
    if (chroot !== undefined) sc.setCloexec(chroot, false);
    script = execLaunchScript({
      channel: childEnd,
      join,
      chroot,
      terminal: tty === undefined ? undefined : {
        socket: tty.initEnd,
        uid: creds.uid,
        size: process.consoleSize === undefined
          ? undefined
          : { rows: process.consoleSize.height, cols: process.consoleSize.width },
        message: CONSOLE_MESSAGE,
      },
      stdio: stdio ?? pipes?.child,
      umask: process.user?.umask ?? 0o022,
      cwd: process.cwd,
      tail: {
        rlimits: rlimitPlans({ ...spec, process }),
        preserveFds: opts.preserveFds,
        seccomp,
        creds,
        retain: retainedCaps(creds, seccomp),
        path,
        argv: args,
        env,
      },
    }, Deno.build.arch);
    // The caller's stdio fds are inheritable for this spawn only.
    for (const fd of stdio ?? []) sc.setCloexec(fd, false);
    try {
      pid = await startStage(script, channel, childEnd);
    } finally {
      sc.close(childEnd);
      for (const ns of join) sc.close(ns.fd);
      sc.setCloexec(root, true);
      tty?.closeInitEnd();
      pipes?.closeChildEnds();
      for (const fd of stdio ?? []) sc.setCloexec(fd, true);
    }
    log.debug(`container "${id}": exec process is pid ${pid}`);
    // A rootless container has no cgroup to join.
    if (rec.cgroup !== undefined) new Cgroup(rec.cgroup).joinBeside(pid, rec.pid);
    sendGo(channel);
    for (;;) {
      const msg = channel.receive();
      // End of file: the channel closed at execve, so the command runs.
      if (msg === undefined) break;
      if (msg.type === "seccompFd") {
        const state = recordHookState({ ...rec, pid }, "running");
        forwardNotifyFd(channel, spec.linux!.seccomp!, state, "exec process");
        continue;
      }
      if (msg.type === "stage-fail") {
        await sc.waitChild(pid);
        pid = undefined;
        throw stageFailure(script, msg);
      }
      throw unexpectedMessage(channel.peer, msg);
    }
    running = true;
    if (opts.pidFile !== undefined) writePidFile(opts.pidFile, pid);
    return { pid, pipes };
  } catch (err) {
    pipes?.close();
    if (pid !== undefined && !running) {
      sc.kill(pid, 9);
      await sc.waitChild(pid);
    }
    throw err;
  } finally {
    channel.close();
    sc.close(root);
  }
}

/** Runs the process (launchExec) and, in the foreground, relays its stdio until it exits. */
async function spawnExec(job: ExecJob): Promise<number> {
  const { opts, tty } = job;
  const { pid, pipes } = await launchExec(job);
  try {
    if (opts.detach) return 0;
    if (tty?.keep === undefined) {
      const stop = forwardSignals(pid);
      try {
        return (await pipes!.relay(pid)).code;
      } finally {
        stop();
      }
    }
    // The master came before the exec, so it is already waiting on our end.
    const terminal = attachTerminal(receiveMaster(tty.keep));
    const stop = forwardSignals(pid, FORWARDED.filter((s) => s !== "SIGWINCH"));
    try {
      return (await terminal.relay(pid)).code;
    } finally {
      terminal.detach();
      stop();
    }
  } finally {
    pipes?.close();
  }
}
