/**
 * The process `exec` starts (hidden command `exec-init`): it is spawned by `exec` inside the
 * container's pid namespace and put in its cgroup, then joins the container's other
 * namespaces on its JS thread (like the init, with synchronous calls only), takes on the exec
 * process's settings and credentials, and execs the command with exactly its `env`.
 */
import type { Executor } from "../../executors/executor.ts";
import { DenkiError, SyscallError } from "../errors.ts";
import { CLONE_FS, INIT_NAMESPACE_ORDER, NAMESPACES } from "../plan/namespaces.ts";
import type { Process, Spec } from "../spec/config.ts";
import { parseSpec } from "../spec/parse.ts";
import { SyncChannel } from "../sync.ts";
import * as sc from "../sys/syscalls.ts";
import { compileCached } from "./seccomp_cache.ts";
import { setupConsole } from "./console.ts";
import { applyCredentials, applyCwd, applyRlimits, setNotDumpable } from "./process.ts";
import { installSeccomp } from "./seccomp.ts";

/** What `exec` sends once the process is in the cgroup. */
export interface ExecBootstrap {
  /** The container's config.json text and its path (for messages). */
  config: string;
  configFile: string;
  /** The process to run (the container's with exec's changes, or --process). */
  process: Process;
  /** The container init, whose namespaces are joined. */
  initPid: number;
  preserveFds: number;
  bundle: string;
  /** Where compiled seccomp programs are kept (see seccomp_cache.ts). */
  seccompCache: string;
  /** process.terminal: the inherited fd of a connected socket that receives the pty master. */
  consoleSocket?: number;
}

/** Joins the namespaces the container has (pid was entered by the parent at spawn). */
function joinNamespaces(spec: Spec, initPid: number): void {
  const types = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
  const fds: [string, number, number][] = [];
  try {
    // Every namespace file is opened before any setns: after the mount namespace, /proc
    // is the container's, where the init is pid 1.
    for (const type of INIT_NAMESPACE_ORDER) {
      if (!types.has(type)) continue;
      const path = `/proc/${initPid}/ns/${NAMESPACES[type].proc}`;
      fds.push([type, NAMESPACES[type].flag, sc.open(path, sc.O_RDONLY | sc.O_CLOEXEC)]);
    }
    // Joining a mount namespace needs an fs_struct of our own (Deno's threads share one).
    if (types.has("mount")) sc.unshare(CLONE_FS);
    for (const [type, flag, fd] of fds) {
      try {
        sc.setns(fd, flag, `${type} namespace of pid ${initPid}`);
      } catch (err) {
        throw new DenkiError(
          `cannot join the container's ${type} namespace: ${(err as Error).message}`,
        );
      }
    }
  } catch (err) {
    if (err instanceof SyscallError && err.errno === sc.Errno.ENOENT) {
      throw new DenkiError("the container's init is gone: the container is not running");
    }
    throw err;
  } finally {
    for (const [, , fd] of fds) sc.close(fd);
  }
}

/** Runs the exec protocol on the inherited channel fd; never returns. */
export async function runExecInit(fd: number, executors: readonly Executor[]): Promise<never> {
  const channel = new SyncChannel(fd);
  if (!channel.send({ type: "hello" })) Deno.exit(1);
  const boot = channel.receive() as (ExecBootstrap & { type: string }) | undefined;
  if (boot === undefined || boot.type !== "bootstrap") Deno.exit(1);
  try {
    setNotDumpable();
    sc.setsid();
    sc.cloexecRange(3 + boot.preserveFds);
    // The channel closes at execve: that end of file is how `exec` learns the command runs.
    sc.setCloexec(fd, true);
    const spec = parseSpec(boot.config, boot.configFile, { validate: false });
    spec.process = boot.process;
    // Compiled (or taken from the cache) while the state root is still in sight.
    const seccomp = spec.linux?.seccomp &&
      await compileCached(spec.linux.seccomp, Deno.build.arch, boot.seccompCache);
    joinNamespaces(spec, boot.initPid);
    // The pty comes from the container's devpts, now that this process sees its mounts.
    if (boot.consoleSocket !== undefined) {
      setupConsole({
        socket: boot.consoleSocket,
        mountConsole: false,
        uid: spec.process.user?.uid,
        size: spec.process.consoleSize,
      });
    }
    applyRlimits(spec);
    applyCwd(spec);
    const executor = executors.find((e) => e.name === "linux");
    if (executor === undefined) throw new DenkiError("exec needs the Linux executor");
    const env = executor.handleEnvs(spec);
    // The container's filter, placed as in the init: before the credentials drop
    // CAP_SYS_ADMIN unless no_new_privs lets it go on last, right before the exec.
    const install = () => {
      const listener = installSeccomp(seccomp!);
      if (listener !== undefined) {
        // `exec` hands it to the agent on the host; the channel closes at execve.
        if (!channel.sendWithFds({ type: "seccompFd" }, [listener])) Deno.exit(1);
        sc.close(listener);
      }
    };
    if (seccomp && !spec.process?.noNewPrivileges) install();
    applyCredentials(spec);
    executor.validate(spec, "/");
    if (seccomp && spec.process?.noNewPrivileges) install();
    return await executor.exec(spec, env, {
      preserveFds: boot.preserveFds,
      root: "/",
      sandbox: false,
      bundle: boot.bundle,
    });
  } catch (err) {
    channel.send({ type: "error", message: err instanceof Error ? err.message : String(err) });
    Deno.exit(1);
  }
}
