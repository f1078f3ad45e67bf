/**
 * The container init: PID 1 of the container, started by `create` through the native stage,
 * which already put the whole process (every Deno thread) in the container's namespaces and
 * runs it from a read-only view of its binary. On its JS thread, with synchronous calls only
 * (async file operations would run on pool threads), it builds the root and switches to it
 * (pivot_root moves every thread), applies the process settings, reports ready, waits on the
 * exec fifo for `start`, runs the startContainer hooks and hands over to the executor.
 */
import type { ExecutorRegistry } from "../executor_registry.ts";
import type { FinalSteps } from "../executor.ts";
import { runHooks } from "../hooks.ts";
import { hookState } from "../lifecycle/common.ts";
import { EXEC_FIFO } from "../state/store.ts";
import { parseSpec } from "../spec/parse.ts";
import type { Spec } from "../spec/config.ts";
import { type InitEnd, initEnd, unexpectedMessage } from "../sync.ts";
import type { BootstrapMessage } from "../sync/messages.ts";
import { Phases } from "../phases.ts";
import { DenkiError, SyscallError } from "../errors.ts";
import * as sc from "../sys/syscalls.ts";
import { NAMESPACES } from "../plan/namespaces.ts";
import { setupConsole } from "./console.ts";
import { compileCached, seccompCacheDir } from "./seccomp_cache.ts";
import { installSeccomp } from "./seccomp.ts";
import { retainedCaps } from "./launch.ts";
import { bringLoopbackUp } from "./network.ts";
import { fifoLater, openFifoLater } from "./fifo.ts";
import {
  ambientNotes,
  applyCredentials,
  applyCwd,
  applySystemSettings,
  credentialPlan,
  dropRetained,
  heedSetgroups,
  prepareRlimits,
  rlimitPlans,
  setNotDumpable,
} from "./process.ts";
import { lockDownRootfs, prepareRootfs, setRootPropagation, switchRoot } from "./rootfs.ts";
import { MountBook } from "./host_mounts.ts";
import { sharesHostMounts } from "./namespaces.ts";

const encoder = new TextEncoder();

function exitQuietly(): never {
  Deno.exit(1);
}

/** Gives the container its own session keyring, as runc does unless --no-new-keyring. */
function newSessionKeyring(id: string): void {
  const errno = sc.joinSessionKeyring(`_ses.${id}`);
  // Kernels without keyrings (ENOSYS) or that forbid them (EPERM in some sandboxes) are fine.
  if (errno !== 0 && errno !== sc.Errno.ENOSYS && errno !== sc.Errno.EPERM) {
    throw new SyscallError("keyctl", `join session keyring _ses.${id}`, errno);
  }
}

function has(spec: Spec, type: string, joined: boolean): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === type && !!n.path === joined);
}

/**
 * The namespace steps the stage could not take: a new cgroup namespace must be made after
 * `create` put this process in the container's cgroup (its root is the cgroup at that moment),
 * and a joined mount namespace is entered by moving to its root, which the stage left as cwd.
 */
function finishNamespaces(spec: Spec): void {
  if (has(spec, "mount", true)) {
    try {
      sc.chroot(".");
      sc.chdir("/");
    } catch (err) {
      throw new DenkiError(`cannot enter the joined mount namespace: ${(err as Error).message}`);
    }
  }
  if (has(spec, "cgroup", false)) {
    try {
      sc.unshare(NAMESPACES.cgroup.flag);
    } catch (err) {
      throw new DenkiError(`cannot create the cgroup namespace: ${(err as Error).message}`);
    }
  }
  // runc brings lo up in every network namespace it makes; servers bind 127.0.0.1 and ::1.
  if (has(spec, "network", false)) bringLoopbackUp();
}

/**
 * The bootstrap message, the first thing `create` sends. Anything else is reported back to
 * `create` (which shows it); a closed channel means `create` is gone: exit quietly.
 */
function receiveBootstrap(channel: InitEnd): BootstrapMessage {
  let boot;
  try {
    boot = channel.receive();
  } catch (err) {
    channel.send({ type: "error", message: (err as Error).message });
    exitQuietly();
  }
  if (boot === undefined) exitQuietly();
  if (boot.type !== "bootstrap") {
    channel.send({ type: "error", message: unexpectedMessage(channel.peer, boot).message });
    exitQuietly();
  }
  return boot;
}

/** Runs the init protocol on the inherited channel fd; never returns. */
export async function runInit(fd: number, executors: ExecutorRegistry): Promise<never> {
  const channel = initEnd(fd);
  const phases = new Phases();
  phases.mark("start-up");
  // create places this process in the container's cgroup between these two messages.
  if (!channel.send({ type: "hello" })) exitQuietly();
  const boot = receiveBootstrap(channel);
  phases.mark("waited for create");
  let ready = false;
  let start: number | undefined;
  let released = false;
  // An executor that runs its workload in this process closes the fifo as the workload starts.
  let inProcess = false;
  try {
    setNotDumpable();
    // Its own session: no controlling terminal of the caller's, no share of its job control.
    sc.setsid();
    // A known umask for the directories created below (runc's 022), not the caller's.
    sc.umask(0o022);
    // Nothing the caller left open may reach hooks or the workload: only stdio and the
    // preserved fds stay inheritable (the channel is marked too; it still works here).
    sc.cloexecRange(3 + boot.preserveFds);
    // create validated this same text before sending it.
    const spec = parseSpec(boot.config, boot.configFile, { validate: false });
    // Compiled before any work, so a profile denki cannot build fails `create` with its reason.
    const seccomp = spec.linux?.seccomp &&
      await compileCached(spec.linux.seccomp, Deno.build.arch, seccompCacheDir(boot.stateDir));
    const creds = credentialPlan(spec);
    if (!boot.sandbox) heedSetgroups(creds);
    const rlimits = rlimitPlans(spec);
    const retain = retainedCaps(creds, seccomp);
    let seccompInstalled = false;
    // Only the executor create chose is loaded (by the name it recorded), and before the root
    // switch: its module files are not reachable from inside the container.
    const executor = await executors.get(boot.executor);
    inProcess = executor.inProcess === true;
    phases.mark("config and seccomp");
    if (!boot.sandbox) finishNamespaces(spec);
    // No mount namespace: every mount goes into the host's table, and `create` records each
    // one (before and after it is made) so that `delete` can remove exactly those.
    const book = !boot.sandbox && sharesHostMounts(spec)
      ? new MountBook(boot.rootfs, (msg) => {
        if (!channel.send(msg) || channel.receive()?.type !== "ok") exitQuietly();
      })
      : undefined;
    const rootFd = boot.sandbox ? undefined : prepareRootfs(spec, boot.rootfs, boot.bundle, book);
    phases.mark("rootfs");
    if ((spec.hooks?.prestart?.length ?? 0) + (spec.hooks?.createRuntime?.length ?? 0) > 0) {
      // These run in the runtime's namespaces: `create` runs them and answers.
      if (!channel.send({ type: "hooks" }) || channel.receive()?.type !== "ok") exitQuietly();
    }
    await runHooks(
      "createContainer",
      spec.hooks?.createContainer,
      hookState(spec, boot.id, "creating", Deno.pid, boot.bundle),
    );
    // The fifo (not its directory: nothing of the host may stay reachable from this process)
    // is reopened for writing once `start` is due.
    const fifo = boot.fifoAttached
      ? fifoLater(attachedFifo(channel))
      : openFifoLater(`${boot.stateDir}/${EXEC_FIFO}`);
    executor.prepare?.(spec);
    const notes: string[] = [];
    if (rootFd !== undefined) {
      switchRoot(rootFd, boot.rootfs, boot.noPivot, book !== undefined);
      book?.chrooted();
      setRootPropagation(spec);
      // After the switch the pty comes from the container's devpts; /dev/console is bound
      // before the root may turn read-only, and the peer is chowned while still root.
      const consoleSocket = boot.consoleSocket;
      if (consoleSocket !== undefined) {
        const setup = () =>
          setupConsole({
            socket: consoleSocket,
            mountConsole: true,
            uid: spec.process?.user?.uid,
            size: spec.process?.consoleSize,
          });
        if (book) {
          book.around(["/dev/console"], setup);
          book.flush();
        } else setup();
      }
      book?.close();
      applySystemSettings(spec);
      lockDownRootfs(spec);
      applyCwd(spec);
      prepareRlimits(rlimits);
      if (!boot.noNewKeyring) newSessionKeyring(boot.id);
    }
    if (rootFd === undefined && boot.consoleSocket !== undefined) {
      // The rootless sandbox has no devpts of its own: the host's /dev/ptmx serves.
      setupConsole({
        socket: boot.consoleSocket,
        mountConsole: false,
        size: spec.process?.consoleSize,
      });
    }
    phases.mark("root switch and settings");
    const env = executor.handleEnvs(spec);
    // A notify filter's fd must reach `create` before "ready", so such a filter goes on here
    // and filters the init's last steps (and startContainer hooks) too; every other filter
    // goes on in the native stage after Deno is gone, right before the workload's execve.
    if (seccomp?.notify) {
      if (!creds.noNewPrivileges) installNotify(seccomp, channel);
      seccompInstalled = !creds.noNewPrivileges;
    }
    if (rootFd !== undefined) {
      applyCredentials(creds, seccompInstalled ? 0n : retain);
      notes.push(...ambientNotes(creds));
    }
    if (seccomp?.notify && !seccompInstalled) {
      installNotify(seccomp, channel);
      seccompInstalled = true;
    }
    notes.push(...seccomp?.notes ?? []);
    const root = boot.sandbox ? boot.rootfs : "/";
    executor.validate(spec, root);
    // Without create listening, or if it dies before recording the container, no one could
    // ever start or delete this init: wait for the record to be written.
    phases.mark("credentials and checks");
    const timings = phases.format();
    if (
      !channel.send({ type: "ready", notes, phases: timings }) ||
      channel.receive()?.type !== "recorded"
    ) {
      exitQuietly();
    }
    ready = true;
    channel.close();

    // Blocks until `start` opens the fifo for reading.
    start = fifo.open();
    try {
      await runHooks(
        "startContainer",
        spec.hooks?.startContainer,
        hookState(spec, boot.id, "created", Deno.pid, boot.bundle),
      );
    } catch (err) {
      sc.writeAll(start, encoder.encode(`1${(err as Error).message}`));
      exitQuietly();
    }
    const startFd = start;
    const pending = seccomp && !seccompInstalled ? seccomp : undefined;
    const final: FinalSteps | undefined = boot.sandbox ? undefined : {
      rlimits,
      seccomp: pending,
      creds,
      retain: seccompInstalled ? 0n : retain,
      lockDown() {
        if (pending !== undefined) installSeccomp(pending);
        if (!seccompInstalled && retain !== 0n) dropRetained(creds, retain);
      },
    };
    return await executor.exec(spec, env, {
      preserveFds: boot.preserveFds,
      root,
      sandbox: boot.sandbox,
      bundle: boot.bundle,
      startFd: start,
      final,
      release() {
        sc.writeAll(startFd, encoder.encode("0"));
        released = true;
      },
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!ready) {
      channel.send({ type: "error", message });
    } else {
      // After create returned, the container's stderr is the only place left, and `start`
      // (once released, it reads the fifo until the workload runs).
      const line = encoder.encode(`denki init: ${message}\n`);
      Deno.stderr.writeSync(line);
      // Before "0", a failure is "1" and its message; after it, just the message (unless an
      // in-process executor has closed the fifo: `start` has returned then).
      if (start !== undefined && !(released && inProcess)) {
        sc.writeAll(start, released ? line : encoder.encode(`1denki init: ${message}\n`));
      }
    }
    exitQuietly();
  }
}

/** The exec fifo's fd that came with the bootstrap message. */
function attachedFifo(channel: InitEnd): number {
  const [fd, ...extra] = channel.takeFds();
  for (const x of extra) sc.close(x);
  if (fd === undefined) throw new DenkiError("create sent no exec fifo with the bootstrap");
  return fd;
}

/** Installs a notify filter and passes its fd to `create`, which hands it to the agent. */
function installNotify(
  seccomp: NonNullable<Awaited<ReturnType<typeof compileCached>>>,
  channel: InitEnd,
) {
  const listener = installSeccomp(seccomp);
  if (listener !== undefined) {
    if (!channel.sendWithFds({ type: "seccompFd" }, [listener])) exitQuietly();
    sc.close(listener);
  }
}
