/**
 * `create`, the runtime side: load and check the bundle, claim the id, make the exec fifo,
 * spawn the container init in the container's pid namespace, run the runtime-namespace hooks
 * it asks for, and record the container once the init reports ready. Any failure kills the
 * init and removes everything this created.
 */
import { type Executor, selectExecutor } from "../executor.ts";
import { causeOf, DenkiError, quote } from "../errors.ts";
import { runHooks } from "../hooks.ts";
import type { Logger } from "../log.ts";
import {
  initLaunchPlan,
  namespaceProblems,
  openJoined,
  userNamespaceOf,
} from "../linux/namespaces.ts";
import { initLaunchScript, stageFailure, startStage, trySendGo } from "../linux/launch.ts";
import { cgroupJoinSteps, handoffSteps, sendRest } from "../linux/native/handoff.ts";
import { buildNativePlan, denoInitReason } from "../linux/native/build.ts";
import { nativeInitSteps } from "../linux/native/init.ts";
import { compileCached, seccompCacheDir } from "../linux/seccomp_cache.ts";
import { ambientNotes } from "../linux/process.ts";
import { Script } from "../spawn/script.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import { resolve } from "../paths.ts";
import { selfCommand } from "../self.ts";
import type { Spec } from "../spec/config.ts";
import { deniesSetgroups, idMapProblems, writeIdMaps } from "../linux/userns.ts";
import { isRootless } from "../linux/rootless.ts";
import { parseSpec } from "../spec/parse.ts";
import { checkContainerId } from "../state/container_id.ts";
import { readProcessInfo } from "../state/proc.ts";
import type { ContainerRecord, CreatingRecord } from "../state/record.ts";
import { StateStore } from "../state/store.ts";
import type { ContainerLock } from "../state/lock.ts";
import { claimContainer, creatingRecord, plannedCgroup, withInit } from "./leftover.ts";
import { type RuntimeEnd, runtimeEnd, unexpectedMessage } from "../sync.ts";
import * as sc from "../sys/syscalls.ts";
import { hookState } from "./common.ts";
import { forwardNotifyFd } from "../linux/seccomp.ts";
import { writePidFile } from "./pid_file.ts";
import { consoleEnds, receiveMaster } from "./console_socket.ts";
import { type StdioPipes, stdioPipes } from "./stdio_relay.ts";
import { Phases } from "../phases.ts";
import { EXEC_FIFO } from "../state/store.ts";
import { signalName } from "../plan/signals.ts";
import { Cgroup } from "../cgroups/manager.ts";
import { hostLayout } from "../cgroups/layout.ts";
import { containerCgroupPath } from "../cgroups/path.ts";
import { realIo } from "../cgroups/io.ts";
import { FileParentBook } from "../cgroups/parents.ts";
import { passwdEntry } from "../plan/passwd.ts";
import { rfc3339Nano } from "../plan/rfc3339.ts";
import { CLOCK_REALTIME } from "../plan/abi.ts";
import { type HostMount, type PendingMount, undoHostMounts } from "../linux/host_mounts.ts";
import { idmapProblems, makeIdmappedTrees } from "../linux/idmap.ts";

/** The create flags, as runc has them. */
export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** `--systemd-cgroup`: cgroupsPath is a systemd unit (refused: denki has no systemd driver). */
  systemdCgroup?: boolean;
  /**
   * `run` without --detach: the caller stays attached, so a terminal needs no console socket
   * (create keeps the pty master for it in Created.console) and one is refused, as in runc.
   */
  foreground?: boolean;
  /**
   * The fds the init gets as stdin, stdout and stderr (made inheritable for its spawn only):
   * a caller that holds the container's stdio itself, as the containerd shim does. Without a
   * terminal only; replaces a foreground run's relay pipes.
   */
  stdio?: readonly [number, number, number] | undefined;
}

/** A created container: its record; its init is a child of this process (`run` waits on it). */
export interface Created {
  record: ContainerRecord;
  /** The pty master, for a foreground `run` whose process has a terminal (close-on-exec). */
  console?: number;
  /**
   * A foreground `run` without a terminal: the pipes that are the process's stdio, which `run`
   * relays (the container never sees the caller's own files, as under runc).
   */
  stdio?: StdioPipes;
}

/** Everything checked before any file is touched. */
interface Checked {
  spec: Spec;
  configText: string;
  bundle: string;
  rootfs: string;
  executor: string;
  /** The executor runs the workload inside the init's Deno (Executor.inProcess). */
  inProcess: boolean;
  sandbox: boolean;
  /** The container's cgroup path, or undefined when it gets none (rootless). */
  cgroupPath: string | undefined;
}

function loadBundle(opts: CreateOptions, executors: readonly Executor[]): Checked {
  checkContainerId(opts.id);
  const bundle = resolve(Deno.cwd(), opts.bundle);
  const file = `${bundle}/config.json`;
  let configText: string;
  try {
    configText = Deno.readTextFileSync(file);
  } catch (err) {
    throw new DenkiError(`cannot read ${file}: ${causeOf(err)}`);
  }
  const spec = parseSpec(configText, file);
  if (spec.process === undefined) {
    throw new DenkiError(`${file}: process is required to create a container`);
  }
  // runc's rules: a detached terminal needs someone to hold its master, and a console socket
  // is only for a detached terminal.
  const detach = !(opts.foreground ?? false);
  if (detach && spec.process.terminal && opts.consoleSocket === undefined) {
    throw new DenkiError(
      "cannot allocate tty if denki will detach without setting console socket",
    );
  }
  if ((!detach || !spec.process.terminal) && opts.consoleSocket !== undefined) {
    throw new DenkiError("cannot use console socket if denki will not detach or allocate tty");
  }
  const problems = unsupportedSecurity(spec);
  if (problems.length > 0) throw new DenkiError(`${file}: ${problems.join("; ")}`);
  const rootfs = resolve(bundle, spec.root!.path);
  let isDir = false;
  try {
    isDir = Deno.statSync(rootfs).isDirectory;
    // runc's rule: below the bundle's real path, the rootfs path has no symlink in it.
    if (Deno.realPathSync(rootfs) !== resolve(Deno.realPathSync(bundle), spec.root!.path)) {
      throw new DenkiError(`invalid rootfs ${rootfs}: not an absolute path, or a symlink`);
    }
  } catch (err) {
    if (err instanceof DenkiError) throw err;
    throw new DenkiError(`rootfs ${rootfs} does not exist (${causeOf(err)})`);
  }
  if (!isDir) throw new DenkiError(`rootfs ${rootfs} is not a directory`);
  const executor = selectExecutor(executors, spec, rootfs);
  if (executor === undefined) {
    throw new DenkiError(`no executor can run ${quote(spec.process.args?.[0] ?? "")}`);
  }
  // Without root, or without namespaces, only an executor with a sandbox of its own (Wasm: its
  // WASI host and Deno's permissions) can run the workload, with no Linux isolation to set up.
  // A caller that is not root but asks for a user namespace gets the namespaces too.
  const notRoot = (Deno.uid() ?? 0) !== 0;
  const userns = userNamespaceOf(spec);
  const sandbox = executor.ownSandbox === true &&
    ((spec.linux?.namespaces ?? []).length === 0 || (notRoot && userns === undefined));
  if (!sandbox) {
    if (notRoot && userns === undefined) {
      throw new DenkiError(
        "containers need root, or a user namespace in linux.namespaces (Wasm bundles run rootless)",
      );
    }
    const ns = namespaceProblems(spec);
    if (ns.length > 0) throw new DenkiError(`${file}: ${ns.join("; ")}`);
    // The maps are checked before anything exists: the kernel's rules, and for a caller who
    // is not root, that each id it maps is its own or one of its subordinate ranges.
    if (userns === "new") {
      const maps = idMapProblems(spec.linux ?? {}, caller());
      if (maps.length > 0) throw new DenkiError(`${file}: ${maps.join("; ")}`);
    }
  }
  // Idmapped mounts (linux/idmap.ts): refused here where they cannot be made.
  const idmap = idmapProblems(spec, {
    root: !isRootless(),
    denoInit: () => denoInitReason(spec, { sandbox, inProcess: executor.inProcess === true }),
  });
  if (idmap.length > 0) throw new DenkiError(`${file}: ${idmap.join("; ")}`);
  // Rootless containers (and sandboxes) get no cgroup (the host's are not theirs), as under
  // runc without a delegated one; everything else gets one.
  const cgroupPath = isRootless()
    ? undefined
    : containerCgroupPath(spec.linux?.cgroupsPath, opts.id, opts.systemdCgroup ?? false);
  return {
    spec,
    configText,
    bundle,
    rootfs,
    executor: executor.name,
    inProcess: executor.inProcess === true,
    sandbox,
    cgroupPath,
  };
}

/**
 * Protections this build cannot apply yet. Running without a filter or profile the config
 * asks for would be silently less safe than the caller believes, so (like runc when it lacks
 * them) the container is refused.
 */
function unsupportedSecurity(spec: Spec): string[] {
  const out: string[] = [];
  if (spec.process?.apparmorProfile) {
    out.push("process.apparmorProfile: AppArmor is not supported");
  }
  return out;
}

/** Resource limits a rootless sandbox cannot apply: named in a warning, not silently dropped. */
function unenforcedResources(spec: Spec): string[] {
  const r = spec.linux?.resources ?? {};
  return Object.keys(r).filter((k) => k !== "devices");
}

/**
 * The creator's user name from the host's /etc/passwd, or "#uid" without an entry: what
 * `runc list` shows as OWNER (user.LookupUid of the state directory's owner). `runc state`
 * prints an empty owner whoever the caller is; the state command does the same.
 */
function ownerName(uid: number): string {
  let text: string | undefined;
  try {
    text = Deno.readTextFileSync("/etc/passwd");
  } catch {
    // no passwd file
  }
  return passwdEntry(text, uid)?.name ?? `#${uid}`;
}

/** Now, as runc records `created`: CLOCK_REALTIME to the nanosecond, RFC 3339 in UTC. */
function createdNow(): string {
  const ns = sc.clockNs(CLOCK_REALTIME);
  if (typeof ns === "bigint") {
    return rfc3339Nano(ns / 1_000_000_000n, ns % 1_000_000_000n);
  }
  const ms = Date.now(); // clock_gettime cannot fail with these arguments; just in case
  return rfc3339Nano(BigInt(Math.floor(ms / 1000)), (ms % 1000) * 1_000_000);
}

/** Creates the container; on success it is "created" and its init waits for `start`. */
export async function createContainer(
  root: string,
  opts: CreateOptions,
  executors: readonly Executor[],
  log: Logger,
): Promise<Created> {
  const phases = new Phases();
  phases.mark("start-up");
  const checked = loadBundle(opts, executors);
  phases.mark("bundle checked");
  const { spec, bundle, rootfs } = checked;
  const unenforced = checked.cgroupPath === undefined ? unenforcedResources(spec) : [];
  if (unenforced.length > 0) {
    log.warn(
      `linux.resources ${unenforced.join(", ")} not enforced: a rootless container gets no cgroup`,
    );
  }
  const tty = spec.process!.terminal ? consoleEnds(opts.consoleSocket) : undefined;
  // As `runc run` does: a foreground process without a terminal gets pipes, relayed by `run`.
  const pipes =
    opts.foreground && !spec.process!.terminal && !checked.sandbox && opts.stdio === undefined
      ? stdioPipes()
      : undefined;
  const childStdio = spec.process!.terminal ? undefined : opts.stdio ?? pipes?.child;
  const [parentEnd, childEnd] = sc.socketpair();
  sc.setCloexec(parentEnd, true);
  const channel = runtimeEnd(parentEnd);
  let pid: number | undefined;
  /** The launch script, and a native init's second script (native/handoff.ts). */
  let script: Script | undefined;
  let initScript: Script | undefined;
  // The native stage is the init wherever it can be (no Deno start-up, nothing of Deno's in
  // the container); otherwise Deno is, for the reason given.
  const denoWhy = denoInitReason(spec, checked);
  log.debug(`container "${opts.id}": ${denoWhy ? `Deno init: ${denoWhy}` : "native init"}`);
  /** Starts the init; `native` appends the native init's steps to the launch script. */
  // The exec fifo as an fd for an init in a new user namespace (inheritable for the launch).
  let fifoFd: number | undefined;
  const launch = async (
    native?: (s: Script) => void,
    meanwhile?: () => void,
    first?: (s: Script) => void,
  ) => {
    try {
      const argv = selfCommand(["init", String(childEnd)]);
      // Inheritable only for this spawn: hooks run by this process must not get it (nor the
      // caller's stdio fds: a hook left running would hold a container's output open).
      if (tty) sc.setCloexec(tty.initEnd, false);
      if (fifoFd !== undefined) sc.setCloexec(fifoFd, false);
      for (const fd of opts.stdio ?? []) sc.setCloexec(fd, false);
      // An empty environment: nothing of the caller's reaches the init (or the workload).
      if (checked.sandbox) pid = sc.spawn(argv[0]!, argv, []);
      else {
        ({ pid, script } = await launchInit(spec, argv, childEnd, channel, {
          inProcess: checked.inProcess,
          stdio: childStdio,
          native,
          meanwhile,
          first,
        }));
      }
    } finally {
      sc.close(childEnd);
      if (fifoFd !== undefined) sc.close(fifoFd);
      fifoFd = undefined;
      tty?.closeInitEnd();
      pipes?.closeChildEnds();
      for (const fd of opts.stdio ?? []) sc.setCloexec(fd, true);
    }
    phases.mark("init started");
    log.debug(`container "${opts.id}": init is pid ${pid}`);
  };
  // A Deno init is started first, so that its Deno starts up while this process claims the
  // id and makes the cgroup. Until it has said hello and been sent its work it does nothing,
  // and if this process dies first, the closed channel ends it: nothing is left either way.
  if (denoWhy !== undefined) {
    try {
      await launch();
    } catch (err) {
      pipes?.close();
      channel.close();
      tty?.close();
      throw err;
    }
  }
  const store = new StateStore(root);
  // Where the cgroup goes, and the init's pid, are recorded with the claim, before anything is
  // made: a create killed midway leaves what `delete` needs to undo it (lifecycle/leftover.ts).
  const layout = checked.cgroupPath === undefined ? undefined : hostLayout();
  let creating: CreatingRecord;
  let lock: ContainerLock;
  try {
    creating = creatingRecord(
      { id: opts.id, bundle, rootfs, owner: ownerName(Deno.uid() ?? 0), created: createdNow() },
      layout && plannedCgroup(layout, checked.cgroupPath!),
    );
    if (pid !== undefined) creating = withInit(creating, pid);
    lock = await claimContainer(store, creating, log);
  } catch (err) {
    if (pid !== undefined) {
      sc.kill(pid, 9);
      await sc.waitChild(pid);
    }
    if (denoWhy === undefined) sc.close(childEnd);
    pipes?.close();
    channel.close();
    tty?.close();
    store.close();
    throw err;
  }
  phases.mark("claimed");
  let master: number | undefined;
  let cgroup: Cgroup | undefined;
  // A container without a mount namespace: the mounts its init made in the host's table.
  const hostMounts: HostMount[] = [];
  let pendingMounts: PendingMount[] = [];
  try {
    if (layout !== undefined) {
      cgroup = Cgroup.create(layout, checked.cgroupPath!, realIo, new FileParentBook(root));
    }
    makeFifo(`${lock.dir}/${EXEC_FIFO}`);
    phases.mark("cgroup and fifo made");
    if (denoWhy === undefined) {
      // The whole init is planned now: every check runs before it exists.
      const seccomp = spec.linux?.seccomp &&
        await compileCached(spec.linux.seccomp, Deno.build.arch, seccompCacheDir(lock.dir));
      for (const note of seccomp?.notes ?? []) log.debug(note);
      // In a user namespace the init cannot reach the state directory (the host root's): it
      // gets the fifo as an fd.
      const userns = hasUserNamespace(spec);
      if (userns) fifoFd = sc.open(`${lock.dir}/${EXEC_FIFO}`, sc.O_PATH | sc.O_CLOEXEC);
      const plan = buildNativePlan({
        spec,
        id: opts.id,
        bundle,
        rootfs,
        stateDir: lock.dir,
        channel: childEnd,
        consoleSocket: tty?.initEnd,
        preserveFds: opts.preserveFds,
        noPivot: opts.noPivot,
        noNewKeyring: opts.noNewKeyring,
        cgroup: cgroup?.rec,
        seccomp,
        mountinfo: readTextRaw("/proc/self/mountinfo") ?? "",
        fifoFd,
        setgroupsDenied: setgroupsDenied(spec),
      });
      for (const note of ambientNotes(plan.creds)) log.debug(note);
      phases.mark("planned");
      // The init starts now, and makes its namespaces and moves into the cgroup (the kernel's
      // slow part) while this process builds the rest of its script (native/handoff.ts).
      let rest: Uint8Array | undefined;
      // In a user namespace the stage joins the cgroup instead, first, as the host's root.
      const dirs = cgroup?.dirs() ?? [];
      // Idmapped mounts: detached copies made now, which the init inherits and moves into
      // place (linux/idmap.ts); inheritable for the launch only.
      const trees = await makeIdmappedTrees(plan.mounts, spec);
      trees.inheritable(true);
      await launch(
        (s) => handoffSteps(s, childEnd, userns ? [] : dirs),
        () => {
          initScript = new Script(Deno.build.arch);
          nativeInitSteps(initScript, plan);
          rest = initScript.build({ fd: childEnd, failCode: 1, text: false });
          phases.mark("init script built (while the stage works)");
        },
        userns ? (s) => cgroupJoinSteps(s, dirs) : undefined,
      ).finally(() => trees.close());
      creating = withInit(creating, pid!);
      store.writeCreating(lock, creating);
      sendRest(parentEnd, rest!);
      phases.mark("init script sent");
    }
    // A Deno init says hello once its runtime is up; it joins the cgroup then, before it
    // unshares the cgroup namespace or does any work. Deno's own start-up memory stays
    // charged to the caller, so a tight memory limit is the workload's, not the runtime's.
    // A native init says hello as its second script starts, already in the cgroup; a
    // failure before that is its first script's.
    const hello = channel.receive();
    if (hello === undefined) throw await initDied(pid!);
    if (hello.type === "stage-fail") {
      await sc.waitChild(pid!);
      pid = undefined;
      throw script === undefined
        ? new DenkiError("container init failed")
        : stageFailure(script, hello);
    }
    if (hello.type !== "hello") throw unexpectedMessage(channel.peer, hello);
    phases.mark("init said hello");
    if (denoWhy !== undefined) {
      cgroup?.join(pid!);
      phases.mark("init joined the cgroup");
      // In a user namespace the init cannot reach the state directory: the exec fifo goes
      // with the bootstrap, as an O_PATH fd (the native init inherits it instead).
      const fifo = !checked.sandbox && hasUserNamespace(spec)
        ? sc.open(`${lock.dir}/${EXEC_FIFO}`, sc.O_PATH | sc.O_CLOEXEC)
        : undefined;
      const boot = {
        type: "bootstrap" as const,
        config: checked.configText,
        configFile: `${bundle}/config.json`,
        bundle,
        rootfs,
        id: opts.id,
        stateDir: lock.dir,
        noPivot: opts.noPivot,
        noNewKeyring: opts.noNewKeyring,
        executor: checked.executor,
        sandbox: checked.sandbox,
        preserveFds: opts.preserveFds,
        ...(tty ? { consoleSocket: tty.initEnd } : {}),
        ...(fifo === undefined ? {} : { fifoAttached: true }),
      };
      try {
        if (fifo === undefined) channel.send(boot);
        else channel.sendWithFds(boot, [fifo]);
      } finally {
        if (fifo !== undefined) sc.close(fifo);
      }
    }
    for (;;) {
      const msg = channel.receive();
      if (msg === undefined) {
        const err = await initDied(pid!);
        pid = undefined;
        throw err;
      }
      if (msg.type === "error") throw new DenkiError(msg.message);
      if (msg.type === "stage-fail" && script !== undefined) {
        // The native init failed a step; it exits.
        await sc.waitChild(pid!);
        pid = undefined;
        throw stageFailure(initScript ?? script, msg);
      }
      if (msg.type === "mount") {
        // Written down before the init goes on: a create killed now leaves what to undo.
        hostMounts.push(...msg.made);
        pendingMounts = msg.pending;
        store.writeCreating(lock, { ...creating, mounts: hostMounts, pendingMounts });
        channel.send({ type: "ok" });
        continue;
      }
      if (msg.type === "seccompFd") {
        // The init cannot reach listenerPath from inside the container: the agent gets the
        // notify fd from here, and this copy is closed once sent.
        const state = hookState(spec, opts.id, "creating", pid!, bundle);
        forwardNotifyFd(channel, spec.linux!.seccomp!, state, "container init");
        continue;
      }
      if (msg.type === "hooks") {
        // prestart and createRuntime run here, in the runtime's namespaces.
        try {
          const state = hookState(spec, opts.id, "creating", pid!, bundle);
          await runHooks("prestart", spec.hooks?.prestart, state);
          await runHooks("createRuntime", spec.hooks?.createRuntime, state);
          // An init gone meanwhile (killed by a hook) shows at the next receive.
          if (denoWhy === undefined) trySendGo(channel);
          else channel.send({ type: "ok" });
        } catch (err) {
          if (denoWhy !== undefined) channel.send({ type: "abort" });
          throw err;
        }
        continue;
      }
      if (msg.type === "ready") {
        phases.mark("init ready");
        for (const note of msg.notes ?? []) log.debug(note);
        if (msg.phases !== undefined) log.debug(`init phases: ${msg.phases}`);
        // Limits go on once the init has built the container (as runc does at procReady):
        // the device rules must not stop it making the device nodes the config lists.
        for (const note of cgroup?.apply(spec.linux?.resources ?? {}, { devices: true }) ?? []) {
          log.warn(note);
        }
        break;
      }
      throw unexpectedMessage(channel.peer, msg);
    }
    // The init sent the master before "ready", so it is already waiting here.
    if (tty?.keep !== undefined) master = receiveMaster(tty.keep);
    const info = readProcessInfo(pid!);
    if (info === undefined) throw new DenkiError("container init exited right after it was ready");
    const record: ContainerRecord = {
      ociVersion: spec.ociVersion,
      id: opts.id,
      pid: pid!,
      pidStartTime: info.startTime,
      status: "created",
      bundle,
      rootfs,
      created: createdNow(),
      owner: ownerName(Deno.uid() ?? 0),
      annotations: spec.annotations ?? {},
      hooks: { poststart: spec.hooks?.poststart ?? [], poststop: spec.hooks?.poststop ?? [] },
      ...(cgroup ? { cgroup: cgroup.rec } : {}),
      ...(hostMounts.length > 0 ? { mounts: hostMounts } : {}),
    };
    store.write(lock, record);
    if (opts.pidFile !== undefined) writePidFile(opts.pidFile, pid!);
    const told = denoWhy === undefined ? trySendGo(channel) : channel.send({ type: "recorded" });
    if (!told) {
      throw new DenkiError("container init exited right after it was ready");
    }
    phases.mark("recorded");
    log.debug(`create phases: ${phases.format()}`);
    return {
      record,
      ...(master === undefined ? {} : { console: master }),
      ...(pipes === undefined ? {} : { stdio: pipes }),
    };
  } catch (err) {
    pipes?.close();
    if (master !== undefined) sc.close(master);
    if (pid !== undefined) {
      sc.kill(pid, 9);
      await sc.waitChild(pid);
    }
    try {
      await cgroup?.remove();
    } catch (cleanup) {
      log.warn((cleanup as Error).message);
    }
    try {
      undoHostMounts(rootfs, hostMounts, pendingMounts, (m) => log.warn(m));
    } catch (cleanup) {
      // The creating record still lists them: `delete` can try again.
      log.warn(`${(cleanup as Error).message}; \`delete ${opts.id}\` retries`);
      throw err;
    }
    store.remove(lock);
    throw err;
  } finally {
    channel.close();
    tty?.close();
    lock.release();
    // The shim creates containers for as long as it lives: no descriptor may stay open.
    store.close();
  }
}

/**
 * Starts the init through the native stage, which joins and makes the container's namespaces
 * first; returns the init's pid (a child of this process, waiting for the go-ahead).
 */
async function launchInit(
  spec: Spec,
  argv: readonly string[],
  channelFd: number,
  channel: RuntimeEnd,
  how: {
    inProcess: boolean;
    stdio: readonly [number, number, number] | undefined;
    native: ((s: Script) => void) | undefined;
    meanwhile: (() => void) | undefined;
    first: ((s: Script) => void) | undefined;
  },
): Promise<{ pid: number; script: Script }> {
  const joined = openJoined(spec);
  try {
    const mountinfo = readTextRaw("/proc/self/mountinfo") ?? "";
    const plan = {
      ...initLaunchPlan(spec, argv, channelFd, joined, mountinfo, how.inProcess, how.stdio),
      native: how.native,
      first: how.first,
    };
    const script = initLaunchScript(plan, Deno.build.arch);
    const mapUserns = plan.newUser
      ? (pid: number) =>
        writeIdMaps(pid, spec.linux?.uidMappings ?? [], spec.linux?.gidMappings ?? [], caller())
      : undefined;
    return {
      pid: await startStage(script, channel, channelFd, how.meanwhile, mapUserns),
      script,
    };
  } finally {
    for (const ns of joined) sc.close(ns.fd);
  }
}

/** Who runs this create: its uid and effective gid (whose ids a rootless map may use). */
function caller(): { uid: number; gid: number } {
  return { uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0 };
}

/** Whether the container's new user namespace will deny setgroups (writeIdMaps decides). */
function setgroupsDenied(spec: Spec): boolean {
  return userNamespaceOf(spec) === "new" &&
    deniesSetgroups(spec.linux?.gidMappings ?? [], caller());
}

/** True when the container's processes are in a user namespace (new or joined by path). */
function hasUserNamespace(spec: Spec): boolean {
  return userNamespaceOf(spec) !== undefined;
}

/** The error for an init that exited before it was ready, saying how it ended (reaps it). */
async function initDied(pid: number): Promise<DenkiError> {
  const status = await sc.waitChild(pid);
  return new DenkiError(
    `container init exited before it was ready (${
      status.signal ? `killed by ${signalName(status.signal)}` : `exit status ${status.code}`
    })`,
  );
}

/** mkfifo with the mode runc uses (owner read/write, others write), despite the umask. */
function makeFifo(path: string): void {
  try {
    sc.mknodat(sc.AT_FDCWD, path, sc.S_IFIFO | 0o622, 0n);
    sc.fchmodat(sc.AT_FDCWD, path, 0o622);
  } catch (err) {
    throw new DenkiError(`cannot create exec fifo ${path}: ${(err as Error).message}`);
  }
}
