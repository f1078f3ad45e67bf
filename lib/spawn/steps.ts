/**
 * Building blocks of stage scripts (pure): the fork into a child that belongs to denki, the
 * credentials, rlimits, the terminal, the seccomp filter and the final execve, each written as
 * the system calls the stage makes. Inputs are plans (numbers and masks) worked out beforehand,
 * so every check has already run when a script is built.
 */
import { CAP_LAST } from "../plan/capabilities.ts";
import { type Arg, Data, type Script, type Slot } from "./script.ts";
import {
  AT_FDCWD,
  CAP_SETPCAP,
  CAP_V3,
  CLONE_PARENT,
  CLOSE_RANGE_CLOEXEC,
  F_SETFD,
  FD_CLOEXEC,
  O_CLOEXEC,
  O_NOCTTY,
  O_RDWR,
  PR,
  SCM_RIGHTS,
  SECCOMP_SET_MODE_FILTER,
  SIGCHLD,
  SOL_SOCKET,
  TIOCGPTPEER,
  TIOCSCTTY,
  TIOCSPTLCK,
  TIOCSWINSZ,
} from "../plan/abi.ts";
import { Errno } from "../plan/errno.ts";
import type { StagePidMessage } from "../sync/messages.ts";

const { EINVAL } = Errno;

/** Credentials and capabilities as masks, worked out from process.user and capabilities. */
export interface CredentialPlan {
  uid: number;
  gid: number;
  additionalGids: readonly number[];
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
  noNewPrivileges: boolean;
  /**
   * The user namespace denies setgroups (a rootless map of the caller's own gid): no groups
   * call at all (the plan has none to set; it refuses additional gids beforehand).
   */
  setgroupsDenied?: boolean;
}

/** One rlimit: the resource number and its soft and hard values. */
export interface RlimitPlan {
  name: string;
  resource: number;
  soft: bigint;
  hard: bigint;
}

/** A compiled seccomp filter ready to load. */
export interface SeccompPlan {
  /** Classic BPF instructions, 8 bytes each. */
  program: Uint8Array;
  flags: number;
  /** SECCOMP_FILTER_FLAG_NEW_LISTENER: the result is a notify fd denki must forward. */
  notify: boolean;
}

/** The parent side of a fork made by `forkChild`, written after the child's steps. */
export interface ForkedChild {
  /** Ends the child's steps: the stage reports the child's pid and exits. */
  parentSide(): void;
}

/**
 * The fork every launch script makes: the child carries on with the steps that follow, as a
 * child of denki itself (CLONE_PARENT); the stage reports the child's pid on `fd` and exits
 * (call `parentSide` after the child's steps). With `waitForGo` the child then waits for a byte
 * on `fd` (denki's go-ahead); without it, only until the stage has reported, so the pid is
 * always the first thing denki reads.
 */
export function forkChild(
  s: Script,
  fd: number,
  what: string,
  waitForGo = true,
): ForkedChild {
  // A pipe whose write end only the stage holds once the child closed its copy: the child's
  // read ends when the stage exits, after its report.
  const ends = waitForGo ? undefined : s.zeros(8);
  const [r, w] = [s.slot(), s.slot()];
  if (ends !== undefined) {
    s.call("pipe2", [ends, O_CLOEXEC], `${what}: cannot make a pipe`);
    s.load(ends, r, "the pipe's read end");
    s.load(new Data(ends.offset + 4), w, "the pipe's write end");
  }
  const pid = s.slot();
  const fork = s.fork(CLONE_PARENT | SIGCHLD, pid, what);
  if (ends === undefined) {
    s.call("read", [fd, s.zeros(8), 1], "wait for the go-ahead", { exitOnEof: 1 });
  } else {
    s.call("close", [w], "close the pipe's write end", { ignore: true });
    s.call("read", [r, s.zeros(8), 1], "wait for the stage to report", { ignore: true });
    s.call("close", [r], "close the pipe's read end", { ignore: true });
  }
  return {
    parentSide() {
      s.parentAt(fork);
      s.report(fd, "stage-pid" satisfies StagePidMessage["type"], pid, "report the child's pid");
      s.exit(0, "the stage's work is done");
    },
  };
}

/** Marks fds from `first` up close-on-exec: only stdio and preserved fds reach the workload. */
export function cloexecFrom(s: Script, first: number): void {
  s.call("close_range", [first, 0xffffffff, CLOSE_RANGE_CLOEXEC], `close_range "fds ${first}.."`);
}

/** Marks one fd close-on-exec. */
export function cloexec(s: Script, fd: Arg, what: string): void {
  s.call("fcntl", [fd, F_SETFD, FD_CLOEXEC], what);
}

/** process.rlimits, each with prlimit64 on the calling process. */
export function rlimitSteps(s: Script, limits: readonly RlimitPlan[], who: string): void {
  for (const r of limits) {
    const lim = s.words([r.soft, r.hard]);
    s.call(
      "prlimit64",
      [0, r.resource, lim, 0],
      `${who}: cannot set ${r.name} to ${r.soft}/${r.hard}`,
    );
  }
}

function capData(s: Script, effective: bigint, permitted: bigint, inheritable: bigint) {
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const hi = (v: bigint) => Number(v >> 32n);
  const header = new Uint32Array([CAP_V3, 0]);
  const data = new Uint32Array([
    lo(effective),
    lo(permitted),
    lo(inheritable),
    hi(effective),
    hi(permitted),
    hi(inheritable),
  ]);
  return {
    header: s.bytes(new Uint8Array(header.buffer)),
    data: s.bytes(new Uint8Array(data.buffer)),
  };
}

/**
 * The user, groups and capabilities, as the init and `exec` apply them: the bounding set is cut,
 * the ids change with KEEPCAPS so the permitted set survives, then capset, the ambient set and
 * no_new_privs. `retain` keeps extra capabilities (CAP_SYS_ADMIN for a seccomp filter that must
 * go on later without no_new_privs) until `dropRetained`.
 */
export function credentialSteps(s: Script, c: CredentialPlan, who: string, retain = 0n): void {
  for (let cap = 0; cap <= CAP_LAST; cap++) {
    const bit = 1n << BigInt(cap);
    if (((c.bounding | retain) & bit) !== 0n) continue;
    s.call(
      "prctl",
      [PR.CAPBSET_DROP, cap],
      `${who}: cannot drop capability ${cap} from the bounding set`,
      {
        ok: [EINVAL],
      },
    );
  }
  s.call("prctl", [PR.SET_KEEPCAPS, 1], `${who}: cannot set KEEPCAPS`);
  if (!c.setgroupsDenied) {
    const gids = new Uint32Array(Math.max(1, c.additionalGids.length));
    gids.set(c.additionalGids);
    s.call(
      "setgroups",
      [c.additionalGids.length, s.bytes(new Uint8Array(gids.buffer))],
      `${who}: cannot set additional groups [${c.additionalGids.join(",")}]`,
    );
  }
  s.call("setresgid", [c.gid, c.gid, c.gid], `${who}: cannot switch to group ${c.gid}`);
  s.call("setresuid", [c.uid, c.uid, c.uid], `${who}: cannot switch to user ${c.uid}`);
  s.call("prctl", [PR.SET_KEEPCAPS, 0], `${who}: cannot clear KEEPCAPS`);
  const caps = capData(s, c.effective | retain, c.permitted | retain, c.inheritable);
  s.call("capset", [caps.header, caps.data], `${who}: cannot set capabilities`);
  s.call(
    "prctl",
    [PR.CAP_AMBIENT, PR.CAP_AMBIENT_CLEAR_ALL, 0, 0, 0],
    `${who}: cannot clear ambient capabilities`,
  );
  for (let cap = 0; cap <= CAP_LAST; cap++) {
    const bit = 1n << BigInt(cap);
    // The kernel refuses an ambient capability that is not permitted and inheritable; runc
    // skips those quietly, and so does the plan (it never lists them here).
    if ((c.ambient & c.permitted & c.inheritable & bit) === 0n) continue;
    s.call(
      "prctl",
      [PR.CAP_AMBIENT, PR.CAP_AMBIENT_RAISE, cap, 0, 0],
      `${who}: cannot raise ambient capability ${cap}`,
    );
  }
  if (c.noNewPrivileges) {
    s.call("prctl", [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0], `${who}: cannot set no_new_privs`);
  }
}

/** The retained capabilities to cut from the bounding set, CAP_SETPCAP (needed to cut) last. */
export function boundingDrops(c: CredentialPlan, retain: bigint): number[] {
  const caps: number[] = [];
  for (let cap = 0; cap <= CAP_LAST; cap++) {
    const bit = 1n << BigInt(cap);
    if ((retain & bit) !== 0n && (c.bounding & bit) === 0n) caps.push(cap);
  }
  return caps.sort((a, b) => (a === CAP_SETPCAP ? 1 : 0) - (b === CAP_SETPCAP ? 1 : 0));
}

/**
 * Gives up capabilities kept by `credentialSteps(.., retain)`: first out of the bounding set
 * (that needs CAP_SETPCAP, so it goes last), then the final capability sets.
 */
export function dropRetained(s: Script, c: CredentialPlan, retain: bigint, who: string): void {
  if (retain === 0n) return;
  for (const cap of boundingDrops(c, retain)) {
    s.call(
      "prctl",
      [PR.CAPBSET_DROP, cap],
      `${who}: cannot drop capability ${cap} from the bounding set`,
      {
        ok: [EINVAL],
      },
    );
  }
  const caps = capData(s, c.effective, c.permitted, c.inheritable);
  s.call("capset", [caps.header, caps.data], `${who}: cannot set capabilities`);
}

/**
 * Loads the filter on the calling thread. With a listener, `into` receives the notify fd.
 */
export function seccompStep(s: Script, f: SeccompPlan, who: string, into?: Slot): void {
  const prog = s.bytes(f.program);
  const fprog = s.words([BigInt(f.program.length / 8), prog]);
  s.call(
    "seccomp",
    [SECCOMP_SET_MODE_FILTER, f.flags, fprog],
    `${who}: cannot install the seccomp filter`,
    {
      ...(into ? { into } : {}),
    },
  );
}

/** Sends the fd in `fd` over the socket `sock` with `text` as the message. */
export function sendFd(s: Script, sock: Arg, fd: Slot, text: string, what: string): void {
  const body = new TextEncoder().encode(text);
  const iov = s.words([s.bytes(body), body.length]);
  // struct cmsghdr: u64 len = CMSG_LEN(4), i32 level, i32 type, then the fd; CMSG_SPACE = 24.
  const cmsg = new Uint8Array(24);
  const v = new DataView(cmsg.buffer);
  v.setBigUint64(0, 20n, true);
  v.setInt32(8, SOL_SOCKET, true);
  v.setInt32(12, SCM_RIGHTS, true);
  const control = s.bytes(cmsg);
  s.poke(fd, new Data(control.offset + 16), 32, what);
  // struct msghdr: name, namelen, iov, iovlen, control, controllen, flags.
  const msg = s.words([0, 0, iov, 1, control, 24, 0]);
  s.call("sendmsg", [sock, msg, 0], what, { expect: body.length });
}

/** What a process with a terminal needs: where the master goes, the peer's owner and size. */
export interface TerminalPlan {
  /** A connected socket (inherited by the stage) that receives the master. */
  socket: number;
  /** The peer's owner (process.user.uid). */
  uid: number;
  size?: { rows: number; cols: number } | undefined;
  /** The data sent with the master, as runc sends it. */
  message: string;
}

/**
 * A pty from the devpts at /dev/ptmx in the current root: the master goes to the socket, the
 * peer becomes the controlling terminal and stdio. Needs setsid first.
 */
export function terminalSteps(s: Script, t: TerminalPlan, who: string): void {
  const master = s.slot();
  const peer = s.slot();
  s.call(
    "openat",
    [AT_FDCWD, s.str("/dev/ptmx"), O_RDWR | O_NOCTTY | O_CLOEXEC],
    `${who}: cannot open /dev/ptmx`,
    {
      into: master,
    },
  );
  s.call("ioctl", [master, TIOCSPTLCK, s.zeros(4)], `${who}: cannot unlock the pty`);
  s.call(
    "ioctl",
    [master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC],
    `${who}: cannot open the pty peer`,
    {
      into: peer,
    },
  );
  if (t.size !== undefined && t.size.rows > 0 && t.size.cols > 0) {
    const ws = new Uint16Array([t.size.rows, t.size.cols, 0, 0]);
    s.call(
      "ioctl",
      [master, TIOCSWINSZ, s.bytes(new Uint8Array(ws.buffer))],
      `${who}: cannot set the terminal size`,
    );
  }
  s.call("fchown", [peer, t.uid, -1], `${who}: cannot give the terminal to user ${t.uid}`);
  sendFd(
    s,
    t.socket,
    master,
    t.message,
    `${who}: cannot send the pty master to the console socket`,
  );
  s.call("close", [t.socket], "close the console socket", { ignore: true });
  s.call("ioctl", [peer, TIOCSCTTY, 0], `${who}: cannot make the pty the controlling terminal`);
  for (const fd of [0, 1, 2]) s.call("dup3", [peer, fd, 0], `${who}: cannot make the pty fd ${fd}`);
  s.call("close", [peer], "close the pty peer", { ignore: true });
  s.call("close", [master], "close the pty master", { ignore: true });
}

/** The workload's execve: the last step. */
export function execSteps(
  s: Script,
  path: string,
  argv: readonly string[],
  env: readonly string[],
  who: string,
): void {
  s.call(
    "execve",
    [s.str(path), s.strings(argv), s.strings(env)],
    `${who}: exec ${JSON.stringify(path)}`,
  );
}
