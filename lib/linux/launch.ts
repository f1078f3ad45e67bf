/**
 * How denki starts processes a container can see. Deno cannot enter namespaces before its own
 * threads exist, so the native stage (lib/spawn) does it: started by `create` or `exec` in the
 * host's pid namespace, where no container process can see it, it joins or creates the
 * namespaces, then forks the real child (a child of denki, CLONE_PARENT), which waits for
 * denki's go-ahead and then becomes the container init (Deno, run from a read-only view of its
 * binary) or, for `exec`, the workload itself. Every thread of those processes starts inside
 * the container's namespaces; none ever had the host's mount namespace, unless the container
 * has no mount namespace of its own (then its root is a chroot in the host's).
 *
 * The script builders are pure; `startStage` runs one and returns the forked child's pid.
 */
import { DenkiError } from "../errors.ts";
import { describeErrno } from "../plan/errno.ts";
import { MS } from "../plan/mount_options.ts";
import { NAMESPACES } from "../plan/namespaces.ts";
import type { NamespaceType } from "../spec/config.ts";
import { Script } from "../spawn/script.ts";
import { launchStage } from "../spawn/stage.ts";
import {
  cloexecFrom,
  type CredentialPlan,
  credentialSteps,
  dropRetained,
  execSteps,
  forkChild,
  type RlimitPlan,
  rlimitSteps,
  type SeccompPlan,
  seccompStep,
  sendFd,
  type TerminalPlan,
  terminalSteps,
} from "../spawn/steps.ts";
import type { RuntimeEnd } from "../sync.ts";
import { encodeMessage, type StageFailMessage, type StageUsernsMessage } from "../sync/messages.ts";
import * as sc from "../sys/syscalls.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  CAP_SETPCAP,
  CAP_SYS_ADMIN,
  O_CLOEXEC,
  O_PATH,
  O_RDWR,
  O_WRONLY,
  oDirectory,
  PR,
  SIG_IGN,
  SIGKILL,
  SIGPIPE,
} from "../plan/abi.ts";

const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = O_CLOEXEC;
const MOUNT_ATTR_RDONLY = 1;
const MOUNT_ATTR_NOSUID = 2;
const MOUNT_ATTR_NODEV = 4;

/** A namespace the stage joins: its type and an fd of it the stage inherits. */
export interface NamespaceFd {
  type: NamespaceType;
  fd: number;
}

/** What the stage needs to start a container init. */
export interface InitLaunchPlan {
  /** The channel to denki (inherited by the stage, kept by the init). */
  channel: number;
  /** Namespaces joined by path, opened by `create`. */
  join: readonly NamespaceFd[];
  /** Namespaces made new by the stage (user, pid, time and cgroup are handled apart). */
  fresh: readonly NamespaceType[];
  /**
   * A new user namespace, made after the joined namespaces (joining needs the host's
   * capabilities) and before the new ones (which it then owns); the stage reports it and
   * waits until `create` has written its id maps.
   */
  newUser?: boolean;
  /**
   * Steps the stage takes first, as the host's root (joining the cgroup, when a user namespace
   * would keep the init from doing it).
   */
  first?: ((s: Script) => void) | undefined;
  /** A new pid namespace (the init is its PID 1); a joined one is in `join`. */
  newPid: boolean;
  /** A new time namespace with these offsets ("monotonic 5 0" lines); joined: in `join`. */
  newTime?: string[] | undefined;
  /** Deno (or denki's compiled binary) and the mount point holding it. */
  exe: string;
  exeMount: string;
  /** The init's argv (argv[0] first). */
  argv: readonly string[];
  /**
   * A native init: instead of exec'ing Deno, the forked child carries on with the steps this
   * appends (lib/linux/native), and the binary needs no read-only view.
   */
  native?: ((s: Script) => void) | undefined;
  /**
   * The init's environment: empty, or DENO_DIR=/dev/null when a container process may see the
   * init while it runs Deno (see `initEnvironment`).
   */
  env: readonly string[];
  /** fds to become the init's stdin, stdout and stderr (a foreground relay's pipes). */
  stdio?: readonly [number, number, number] | undefined;
}

/** The order namespaces are joined or made in: mount last (after it paths mean the new view). */
const JOIN_ORDER: readonly NamespaceType[] = [
  "user",
  "ipc",
  "uts",
  "network",
  "cgroup",
  "time",
  "pid",
  "mount",
];

function ordered(list: readonly NamespaceFd[]): NamespaceFd[] {
  return [...list].sort((a, b) => JOIN_ORDER.indexOf(a.type) - JOIN_ORDER.indexOf(b.type));
}

function joinSteps(s: Script, list: readonly NamespaceFd[], who: string): void {
  for (const ns of ordered(list)) {
    s.call(
      "setns",
      [ns.fd, NAMESPACES[ns.type].flag],
      `${who}: cannot join the ${ns.type} namespace`,
    );
    s.call("close", [ns.fd], "close a namespace fd", { ignore: true });
  }
}

/**
 * A new user namespace for the stage: made, reported on `channel` with the stage's pid, and
 * waited on (one byte) while `create` writes its maps. Then the stage takes uid and gid 0 of
 * the namespace, so what it makes from here on (mounts, files, the init) belongs to the
 * container's root, not to an id the namespace cannot name.
 */
function userNamespaceSteps(s: Script, channel: number, who: string): void {
  // The stage is not dumpable, which makes its /proc files root's: a caller that is not root
  // could not write the maps. Dumpable only until they are written (the namespace is empty,
  // and this process is in the host's pid namespace, where only the caller's uid may trace it).
  s.call("prctl", [PR.SET_DUMPABLE, 1], `${who}: cannot let the caller write the id maps`);
  s.call("unshare", [NAMESPACES.user.flag], `${who}: cannot create the user namespace`);
  const pid = s.slot();
  s.call("getpid", [], "getpid", { into: pid });
  s.report(
    channel,
    "stage-userns" satisfies StageUsernsMessage["type"],
    pid,
    "report the user namespace",
  );
  s.call("read", [channel, s.zeros(8), 1], "wait for the user namespace's id maps", {
    exitOnEof: 1,
  });
  s.call("prctl", [PR.SET_DUMPABLE, 0], `${who}: cannot make the stage undumpable again`);
  becomeNamespaceRoot(s, who);
}

/**
 * Uid and gid 0 of the user namespace the stage is in: otherwise it is an id the namespace
 * cannot name, whose capabilities there end at its next execve (the init's).
 */
function becomeNamespaceRoot(s: Script, who: string): void {
  const why = "(the user namespace must map 0)";
  s.call("setresgid", [0, 0, 0], `${who}: cannot become gid 0 of the user namespace ${why}`);
  s.call("setresuid", [0, 0, 0], `${who}: cannot become uid 0 of the user namespace ${why}`);
}

/** `path` relative to the mount point `mount` that holds it ("." for the point itself). */
function pathBelow(mount: string, path: string): string {
  const rest = mount === "/" ? path.slice(1) : path.slice(mount.length + 1);
  return rest === "" ? "." : rest;
}

function stdioSteps(s: Script, stdio: readonly [number, number, number], who: string): void {
  stdio.forEach((fd, i) => s.call("dup3", [fd, i, 0], `${who}: cannot set up stdio fd ${i}`));
  for (const fd of new Set(stdio)) {
    if (fd > 2) s.call("close", [fd], "close a stdio pipe", { ignore: true });
  }
}

/** /dev/null as fds 0, 1 and 2. */
function nullStdio(s: Script, who: string): void {
  const fd = s.slot();
  s.call(
    "openat",
    [AT_FDCWD, s.str("/dev/null"), O_RDWR | O_CLOEXEC],
    `${who}: cannot open /dev/null`,
    {
      into: fd,
    },
  );
  for (const target of [0, 1, 2]) {
    s.call("dup3", [fd, target, 0], `${who}: cannot set up stdio fd ${target}`);
  }
  s.call("close", [fd], "close /dev/null", { ignore: true });
}

/**
 * The stage script that starts a container init: namespaces first (joined, then new ones),
 * the binary made read-only where the init will run it, then the fork into PID 1.
 */
export function initLaunchScript(p: InitLaunchPlan, arch: string): Script {
  const s = new Script(arch);
  const who = "container init";
  const joinedMount = p.join.find((n) => n.type === "mount");
  p.first?.(s);
  joinSteps(s, p.join.filter((n) => n.type !== "mount" && n.type !== "pid"), who);
  if (p.join.some((n) => n.type === "user")) becomeNamespaceRoot(s, who);
  if (p.newUser) userNamespaceSteps(s, p.channel, who);
  const fresh = p.fresh.reduce((f, t) => f | NAMESPACES[t].flag, 0);
  if (fresh !== 0) {
    s.call("unshare", [fresh], `${who}: cannot create namespaces (${p.fresh.join(", ")})`);
  }
  if (p.newTime !== undefined) {
    s.call("unshare", [NAMESPACES.time.flag], `${who}: cannot create the time namespace`);
    if (p.newTime.length > 0) {
      const fd = s.slot();
      s.call(
        "openat",
        [AT_FDCWD, s.str("/proc/self/timens_offsets"), O_WRONLY | O_CLOEXEC],
        `${who}: cannot open timens_offsets`,
        { into: fd },
      );
      const text = new TextEncoder().encode(p.newTime.join("\n"));
      s.call("write", [fd, s.bytes(text), text.length], `${who}: cannot set the time offsets`, {
        expect: text.length,
      });
      s.call("close", [fd], "close timens_offsets", { ignore: true });
    }
  }
  const pid = p.join.find((n) => n.type === "pid");
  if (pid !== undefined) joinSteps(s, [pid], who);
  else if (p.newPid) {
    s.call("unshare", [NAMESPACES.pid.flag], `${who}: cannot create the pid namespace`);
  }
  let exeFd: ReturnType<Script["slot"]> | undefined;
  if (p.native !== undefined) {
    // The init runs no binary of the host's: nothing to make read-only.
  } else if (p.fresh.includes("mount")) {
    // The init runs from a read-only bind of the binary, so a container process that reaches
    // it through /proc/PID/exe cannot reopen it for writing (EROFS), as runc's init runs from
    // a read-only copy of runc. The mount holding it stops propagating first, so the bind
    // stays in this namespace.
    s.call(
      "mount",
      [0, s.str(p.exeMount), 0, MS.SLAVE, 0],
      `${who}: cannot make ${p.exeMount} a slave mount`,
    );
    s.call("mount", [s.str(p.exe), s.str(p.exe), 0, MS.BIND, 0], `${who}: cannot bind ${p.exe}`);
    const flags = MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV;
    s.call("mount", [0, s.str(p.exe), 0, flags, 0], `${who}: cannot make ${p.exe} read-only`);
  } else {
    // Someone else's mount namespace (or, without one, the host's) is not ours to bind in:
    // run the binary through a detached read-only copy of its mount instead, made while the
    // host's view is ours. The copy is in no mount table and goes when the init execs.
    const attr = s.words([MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0]);
    exeFd = s.slot();
    if (joinedMount !== undefined) {
      s.call(
        "open_tree",
        [AT_FDCWD, s.str(p.exe), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC],
        `${who}: cannot clone the mount of ${p.exe}`,
        { into: exeFd },
      );
      s.call(
        "mount_setattr",
        [exeFd, s.str(""), AT_EMPTY_PATH, attr, 32],
        `${who}: cannot make the copy of ${p.exe} read-only`,
      );
    } else {
      // Without a mount namespace the init keeps working from the host's paths until its
      // chroot: a copy of the whole mount holding the binary (not the file alone) gives the
      // binary its own path there, which Deno.execPath() reads ("/" for a copy of the file).
      const tree = s.slot();
      s.call(
        "open_tree",
        [AT_FDCWD, s.str(p.exeMount), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC],
        `${who}: cannot clone the mount ${p.exeMount}`,
        { into: tree },
      );
      s.call(
        "mount_setattr",
        [tree, s.str(""), AT_EMPTY_PATH, attr, 32],
        `${who}: cannot make the copy of ${p.exeMount} read-only`,
      );
      s.call(
        "openat",
        [tree, s.str(pathBelow(p.exeMount, p.exe)), O_PATH | O_CLOEXEC],
        `${who}: cannot open ${p.exe} in the copy of ${p.exeMount}`,
        { into: exeFd },
      );
      s.call("close", [tree], "close", { ignore: true });
    }
  }
  if (joinedMount !== undefined) {
    // Deno starts from the host's root (its libraries and modules are there) with its cwd at
    // the joined namespace's root; the init chroots to its cwd before any container work.
    const host = s.slot();
    const nsRoot = s.slot();
    const dir = O_PATH | oDirectory(arch) | O_CLOEXEC;
    s.call("openat", [AT_FDCWD, s.str("/"), dir], `${who}: cannot open /`, { into: host });
    joinSteps(s, [joinedMount], who);
    s.call("openat", [AT_FDCWD, s.str("/"), dir], `${who}: cannot open the namespace's /`, {
      into: nsRoot,
    });
    s.call("fchdir", [host], `${who}: cannot return to the host's root`);
    s.call("chroot", [s.str(".")], `${who}: cannot return to the host's root`);
    s.call("fchdir", [nsRoot], `${who}: cannot change to the namespace's root`);
    s.call("close", [host], "close", { ignore: true });
    s.call("close", [nsRoot], "close", { ignore: true });
  }
  // Stdio is settled before the fork, while no container process can see this one.
  if (p.stdio !== undefined) stdioSteps(s, p.stdio, who);
  // No go-ahead to wait for: Deno starts up while `create` claims the id and makes the cgroup
  // (the init does nothing before `create` answers its hello).
  const child = forkChild(
    s,
    p.channel,
    `${who}: cannot fork into the container's pid namespace`,
    false,
  );
  if (p.native !== undefined) {
    // The stage itself is the init: it carries on with the container's steps.
    p.native(s);
    child.parentSide();
    return s;
  }
  // The stage starts with every signal at its default; the init writes to pipes whose reader
  // may be gone (a hook that exits without reading its state), so SIGPIPE must not kill it.
  // Deno keeps an ignored SIGPIPE; the stage that runs the workload resets it again.
  const ignore = s.words([SIG_IGN, 0, 0, 0]);
  s.call("rt_sigaction", [SIGPIPE, ignore, 0, 8], `${who}: cannot ignore SIGPIPE`);
  if (exeFd !== undefined) {
    s.call(
      "execveat",
      [exeFd, s.str(""), s.strings(p.argv), s.strings(p.env), AT_EMPTY_PATH],
      `${who}: cannot run ${p.exe}`,
    );
  } else {
    // Nothing of the caller's environment reaches the init (or the workload).
    execSteps(s, p.exe, p.argv, p.env, who);
  }
  child.parentSide();
  return s;
}

/**
 * The init's environment. Deno keeps its module and V8 code caches open read-write, and a
 * process in the container with CAP_SYS_PTRACE could reopen them through /proc/PID/fd and plant
 * code the next denki command runs as root. Those fds are close-on-exec and gone once the
 * workload runs, which is before anything else exists in a new pid namespace; but a joined (or
 * the host's) pid namespace shows the init while it waits, and a Wasm init runs Deno for the
 * container's whole life. Those inits start without Deno's caches (DENO_DIR=/dev/null; about
 * 10 ms more start-up).
 */
export function initEnvironment(visibleWhileDeno: boolean): string[] {
  return visibleWhileDeno ? ["DENO_DIR=/dev/null"] : [];
}

/** The last steps before a workload runs, after everything Deno had to do. */
export interface TailPlan {
  rlimits: readonly RlimitPlan[];
  /** fds 3 .. 3+preserveFds-1 stay open for the workload; all others close at execve. */
  preserveFds: number;
  /** The container's filter, unless it is already on (a notify filter the init installed). */
  seccomp?: SeccompPlan | undefined;
  creds: CredentialPlan;
  /** Capabilities kept until the filter is on (CAP_SYS_ADMIN without no_new_privs). */
  retain: bigint;
  path: string;
  argv: readonly string[];
  env: readonly string[];
}

/**
 * What a process keeps until its filter is on, when the filter must go on without no_new_privs:
 * CAP_SYS_ADMIN (the kernel's condition for the filter) and CAP_SETPCAP (to cut the bounding set
 * afterwards), those of the two it would not have anyway.
 */
export function retainedCaps(creds: CredentialPlan, seccomp: SeccompPlan | undefined): bigint {
  if (seccomp === undefined || creds.noNewPrivileges) return 0n;
  const bits = (1n << BigInt(CAP_SYS_ADMIN)) | (1n << BigInt(CAP_SETPCAP));
  return bits & ~creds.effective;
}

/**
 * Rlimits (RLIMIT_AS and its kin would break Deno, so they come after it is gone), close-on-exec
 * for every fd not passed on, the seccomp filter, the capabilities kept for it, and execve: after
 * the filter goes on, only the capability drop and the execve run (both are calls runc makes
 * after its filter too, so profiles written for runc allow them).
 */
export function tailSteps(s: Script, t: TailPlan, who: string, notifyTo?: number): void {
  rlimitSteps(s, t.rlimits, who);
  cloexecFrom(s, 3 + t.preserveFds);
  const install = () => {
    if (t.seccomp === undefined) return;
    const listener = t.seccomp.notify ? s.slot() : undefined;
    seccompStep(s, t.seccomp, who, listener);
    if (listener !== undefined && notifyTo !== undefined) {
      sendFd(
        s,
        notifyTo,
        listener,
        encodeMessage({ type: "seccompFd" }),
        `${who}: cannot pass on the seccomp notify fd`,
      );
      s.call("close", [listener], "close the notify fd", { ignore: true });
    }
  };
  if (!t.creds.noNewPrivileges) install();
  dropRetained(s, t.creds, t.retain, who);
  if (t.creds.noNewPrivileges) install();
  execSteps(s, t.path, t.argv, t.env, who);
}

/** What the stage needs to run a process in a running container (`denki exec`). */
export interface ExecLaunchPlan {
  channel: number;
  /** The container's namespaces, opened from its init's /proc entries. */
  join: readonly NamespaceFd[];
  terminal?: TerminalPlan | undefined;
  stdio?: readonly [number, number, number] | undefined;
  /**
   * An inheritable fd of the init's root, for a container without a mount namespace of its
   * own: there is none to join that would set the root, so the process chroots into it.
   */
  chroot?: number | undefined;
  umask: number;
  cwd: string;
  tail: TailPlan;
}

/** The stage script of `exec`: join, fork into the container, set the process up, exec. */
export function execLaunchScript(p: ExecLaunchPlan, arch: string): Script {
  const s = new Script(arch);
  const who = "exec";
  // Stdio is settled first, while no container process can see this one and paths are still
  // the host's: the relay's pipes, or the host's /dev/null until the pty (from the container's
  // devpts) replaces it, so the caller's own files are never open in a process of the
  // container's but the workload.
  if (p.terminal !== undefined) nullStdio(s, who);
  else if (p.stdio !== undefined) stdioSteps(s, p.stdio, who);
  joinSteps(s, p.join, who);
  if (p.chroot !== undefined) {
    s.call("fchdir", [p.chroot], `${who}: cannot change to the container's root`);
    s.call("chroot", [s.str(".")], `${who}: cannot chroot into the container's root`);
    s.call("close", [p.chroot], "close the root fd", { ignore: true });
  }
  const child = forkChild(s, p.channel, `${who}: cannot fork into the container's pid namespace`);
  s.call("setsid", [], "setsid", { ignore: true });
  if (p.terminal !== undefined) terminalSteps(s, p.terminal, who);
  s.call("umask", [p.umask], "umask");
  s.call("chdir", [s.str(p.cwd)], `${who}: cannot change to process.cwd ${p.cwd}`);
  // Rlimits before the user changes, as runc orders them: raising a hard limit needs the
  // privileges the switch gives up (the stage, unlike Deno, lives with any limit).
  rlimitSteps(s, p.tail.rlimits, who);
  credentialSteps(s, p.tail.creds, who, p.tail.retain);
  tailSteps(s, { ...p.tail, rlimits: [] }, who, p.channel);
  child.parentSide();
  return s;
}

/**
 * Starts a launch script whose reports come on `channel` (its other end is `reportFd` in the
 * stage), running `meanwhile` while the stage works; returns the pid of the child it forked, a
 * child of this process.
 */
export async function startStage(
  script: Script,
  channel: RuntimeEnd,
  reportFd: number,
  meanwhile: () => void = () => {},
  mapUserns?: (stagePid: number) => Promise<void>,
): Promise<number> {
  const stage = launchStage(script.build({ fd: reportFd, failCode: 1, text: false }));
  // Work that overlaps the stage's namespaces and fork; if it fails, the init goes too.
  let failed: { err: unknown } | undefined;
  try {
    meanwhile();
  } catch (err) {
    failed = { err };
  }
  let msg = channel.receive();
  if (msg?.type === "stage-userns") {
    // The stage waits in its new user namespace for its maps; without them it must not go on
    // (its EOF on the channel ends it).
    if (failed === undefined && mapUserns !== undefined) {
      try {
        await mapUserns(stage);
        sendGo(channel);
      } catch (err) {
        failed = { err };
      }
    }
    if (failed !== undefined) {
      sc.kill(stage, SIGKILL);
      await sc.waitChild(stage);
      throw failed.err;
    }
    msg = channel.receive();
  }
  const status = await sc.waitChild(stage);
  if (failed !== undefined) {
    if (msg?.type === "stage-pid" && msg.value > 0) {
      sc.kill(msg.value, SIGKILL);
      await sc.waitChild(msg.value);
    }
    throw failed.err;
  }
  if (msg?.type === "stage-pid" && msg.value > 0) return msg.value;
  if (msg?.type === "stage-fail") throw stageFailure(script, msg);
  const how = status.signal ? `signal ${status.signal}` : `exit status ${status.code}`;
  throw new DenkiError(`denki's native stage failed (${how})`);
}

/** The error for a `{"type":"stage-fail"}` report of `script`. */
export function stageFailure(script: Script, msg: StageFailMessage): DenkiError {
  const { step, errno } = msg;
  // An explicit failure step says it all (runc's "executable file not found in $PATH").
  if (errno === 0 && script.steps[step]?.op === "fail") {
    return new DenkiError(script.describe(step));
  }
  if (msg.message !== undefined) {
    return new DenkiError(`${script.describe(step)}: ${msg.message}`);
  }
  const why = errno === 0 ? "unexpected result" : describeErrno(errno);
  return new DenkiError(`${script.describe(step)}: ${why}`);
}

/** Lets the child carry on: one byte it is waiting for. */
export function sendGo(channel: RuntimeEnd): void {
  sc.writeAll(channel.fd, new Uint8Array([0x0a]), "sync socket");
}

/** `sendGo`, false when the child is gone. */
export function trySendGo(channel: RuntimeEnd): boolean {
  try {
    sendGo(channel);
    return true;
  } catch {
    return false;
  }
}
