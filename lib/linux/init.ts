/**
 * The container init: PID 1 of the container, started by `create` with an empty environment.
 * On its JS thread, with synchronous calls only (async file operations would run on pool
 * threads that still see the host), it enters the namespaces, builds the root, switches to
 * it, applies the process settings, reports ready, waits on the exec fifo for `start`, runs
 * the startContainer hooks and hands over to the executor.
 */
import type { Executor } from "../../executors/executor.ts";
import { runHooks } from "../hooks.ts";
import { hookState } from "../lifecycle/common.ts";
import { EXEC_FIFO } from "../state/store.ts";
import { parseSpec } from "../spec/parse.ts";
import { SyncChannel } from "../sync.ts";
import { SyscallError } from "../errors.ts";
import * as sc from "../sys/syscalls.ts";
import { setupConsole } from "./console.ts";
import { enterNamespaces } from "./namespaces.ts";
import { compileCached, seccompCacheDir } from "./seccomp_cache.ts";
import { installSeccomp } from "./seccomp.ts";
import {
  applyCredentials,
  applyCwd,
  applyRlimits,
  applySystemSettings,
  setNotDumpable,
} from "./process.ts";
import { lockDownRootfs, prepareRootfs, setRootPropagation, switchRoot } from "./rootfs.ts";

/** What `create` sends the init first. */
interface Bootstrap {
  config: string;
  configFile: string;
  bundle: string;
  rootfs: string;
  id: string;
  stateDir: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** The executor create chose. */
  executor: string;
  /** Rootless Wasm: no namespaces, no root switch, no credentials to change. */
  sandbox: boolean;
  /** process.terminal: the inherited fd of a connected socket that receives the pty master. */
  consoleSocket?: number;
}

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

/** Runs the init protocol on the inherited channel fd; never returns. */
export async function runInit(fd: number, executors: readonly Executor[]): Promise<never> {
  const channel = new SyncChannel(fd);
  // create places this process in the container's cgroup between these two messages.
  if (!channel.send({ type: "hello" })) exitQuietly();
  const boot = channel.receive() as (Bootstrap & { type: string }) | undefined;
  if (boot === undefined || boot.type !== "bootstrap") exitQuietly();
  let ready = false;
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
    let seccompInstalled = false;
    const executor = executors.find((e) => e.name === boot.executor)!;
    const rootFd = boot.sandbox
      ? undefined
      : (enterNamespaces(spec), prepareRootfs(spec, boot.rootfs, boot.bundle));
    if ((spec.hooks?.prestart?.length ?? 0) + (spec.hooks?.createRuntime?.length ?? 0) > 0) {
      // These run in the runtime's namespaces: `create` runs them and answers.
      if (!channel.send({ type: "hooks" }) || channel.receive()?.type !== "ok") exitQuietly();
    }
    await runHooks(
      "createContainer",
      spec.hooks?.createContainer,
      hookState(spec, boot.id, "creating", Deno.pid, boot.bundle),
    );
    // Reached through this fd after the switch, where the state directory is out of sight.
    const stateDir = sc.open(boot.stateDir, sc.O_PATH | sc.O_DIRECTORY | sc.O_CLOEXEC);
    executor.prepare?.(spec);
    let notes: string[] = [];
    if (rootFd !== undefined) {
      switchRoot(rootFd, boot.rootfs, boot.noPivot);
      setRootPropagation(spec);
      // After the switch the pty comes from the container's devpts; /dev/console is bound
      // before the root may turn read-only, and the peer is chowned while still root.
      if (boot.consoleSocket !== undefined) {
        setupConsole({
          socket: boot.consoleSocket,
          mountConsole: true,
          uid: spec.process?.user?.uid,
          size: spec.process?.consoleSize,
        });
      }
      applySystemSettings(spec);
      lockDownRootfs(spec);
      applyRlimits(spec);
      applyCwd(spec);
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
    const env = executor.handleEnvs(spec);
    // Seccomp goes on as late as possible, so the runtime's own setup is not filtered. Without
    // no_new_privs that is here: installing then needs CAP_SYS_ADMIN, which applyCredentials
    // may drop (runc orders it the same way). A notify fd must reach `create` before "ready",
    // so such a filter goes on here in both cases, and filters the init's last steps (and
    // startContainer hooks) too: the profile has to allow them, as under runc.
    const installSeccompHere = () => {
      const listener = installSeccomp(seccomp!);
      seccompInstalled = true;
      if (listener !== undefined) {
        if (!channel.sendWithFds({ type: "seccompFd" }, [listener])) exitQuietly();
        sc.close(listener);
      }
    };
    if (seccomp && !spec.process?.noNewPrivileges) installSeccompHere();
    if (rootFd !== undefined) notes = applyCredentials(spec);
    if (seccomp?.notify && !seccompInstalled) installSeccompHere();
    notes.push(...seccomp?.notes ?? []);
    const root = boot.sandbox ? boot.rootfs : "/";
    executor.validate(spec, root);
    // Without create listening, or if it dies before recording the container, no one could
    // ever start or delete this init: wait for the record to be written.
    if (!channel.send({ type: "ready", notes }) || channel.receive()?.type !== "recorded") {
      exitQuietly();
    }
    ready = true;
    channel.close();

    // Blocks until `start` opens the fifo for reading.
    const fifo = sc.openat(stateDir, EXEC_FIFO, sc.O_WRONLY | sc.O_CLOEXEC);
    sc.close(stateDir);
    try {
      await runHooks(
        "startContainer",
        spec.hooks?.startContainer,
        hookState(spec, boot.id, "created", Deno.pid, boot.bundle),
      );
      // With no_new_privs: right before the exec, yet before answering `start`, which then
      // reports a filter the kernel refuses.
      if (seccomp && !seccompInstalled) installSeccomp(seccomp);
    } catch (err) {
      sc.writeAll(fifo, encoder.encode(`1${(err as Error).message}`));
      exitQuietly();
    }
    sc.writeAll(fifo, encoder.encode("0"));
    sc.close(fifo);
    return await executor.exec(spec, env, {
      preserveFds: boot.preserveFds,
      root,
      sandbox: boot.sandbox,
      bundle: boot.bundle,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!ready) {
      channel.send({ type: "error", message });
    } else {
      // After create returned, the container's stderr is the only place left.
      Deno.stderr.writeSync(encoder.encode(`denki init: ${message}\n`));
    }
    exitQuietly();
  }
}
