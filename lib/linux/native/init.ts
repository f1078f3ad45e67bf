/**
 * A container init as a stage script (the native init): what the Deno init does, in the same
 * order, written down by `create` and carried out by the stage right after it forked into the
 * container's pid namespace. Before it reports ready, a failing step is reported to `create`
 * as JSON (which names the step); after `start` released it, as one line on the container's
 * stderr and on the exec fifo.
 */
import {
  AT_FDCWD,
  MNT_DETACH,
  O_CLOEXEC,
  O_CREAT,
  O_NOCTTY,
  O_PATH,
  O_RDWR,
  O_WRONLY,
  oDirectory,
  oNofollow,
  TIOCGPTPEER,
  TIOCSCTTY,
  TIOCSPTLCK,
  TIOCSWINSZ,
} from "../../plan/abi.ts";
import { Errno } from "../../plan/errno.ts";
import { MS } from "../../plan/mount_options.ts";
import { NAMESPACES } from "../../plan/namespaces.ts";
import type { Script, Slot } from "../../spawn/script.ts";
import {
  cloexecFrom,
  credentialSteps,
  dropRetained,
  rlimitSteps,
  seccompStep,
  sendFd,
} from "../../spawn/steps.ts";
import { encodeMessage } from "../../sync/messages.ts";
import { CONSOLE_MESSAGE } from "../console.ts";
import { Emit } from "./emit.ts";
import { device, devLinks, mountOne, setattr } from "./mounts.ts";
import type { NativePlan } from "./plan.ts";

const WHO = "denki init";
/** The status of a container whose workload could not start after `start` (as exec-init). */
const EXEC_FAILED = 255;
const FSOPEN_CLOEXEC = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSMOUNT_CLOEXEC = 1;
const KEYCTL_JOIN_SESSION_KEYRING = 1;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const X_OK = 1;
const F_OK = 0;

/** Appends the init's steps (after the fork) to `s`. */
export function nativeInitSteps(s: Script, p: NativePlan): void {
  const e = new Emit(s, WHO);
  const ch = p.channel;
  const line = (text: string, what: string) => {
    const bytes = new TextEncoder().encode(text);
    s.call("write", [ch, s.bytes(bytes), bytes.length], `${WHO}: ${what}`, {
      expect: bytes.length,
    });
  };
  const awaitByte = (what: string) =>
    s.call("read", [ch, s.zeros(8), 1], `${WHO}: ${what}`, { exitOnEof: 1 });

  // Already in the container's cgroup (handoff.ts): it says it runs this script, and goes on.
  line(encodeMessage({ type: "hello" }), "say hello");
  if (p.newCgroupNs) {
    s.call("unshare", [NAMESPACES.cgroup.flag], `${WHO}: cannot create the cgroup namespace`);
  }
  if (p.newNetworkNs) loopbackUp(e);
  s.call("setsid", [], "setsid", { ignore: true });
  s.call("umask", [0o022], "umask");
  cloexecFrom(s, 3 + p.preserveFds);

  // The root, its mounts and /dev, while the host's paths are still in sight.
  e.mount(null, s.str("/"), null, p.rootPropagation, null, `cannot set the propagation of /`);
  e.mount(
    null,
    s.str(p.rootParentMount),
    null,
    MS.PRIVATE,
    null,
    `cannot make ${p.rootParentMount} private`,
  );
  e.mount(
    p.rootfs,
    s.str(p.rootfs),
    null,
    MS.BIND | MS.REC,
    null,
    `cannot bind rootfs ${p.rootfs}`,
  );
  const root = e.openHostDir(p.rootfs, `cannot open rootfs ${p.rootfs}`);
  for (const m of p.mounts) mountOne(e, root, m, p);
  if (p.devices !== undefined) {
    for (const d of p.devices) device(e, root, d);
    devLinks(e, root);
  }
  e.close(e.openIn(root, p.cwd, "dir", `cannot create process.cwd ${p.cwd}`));
  if (p.runtimeHooks) {
    line(encodeMessage({ type: "hooks" }), "ask for the prestart and createRuntime hooks");
    awaitByte("wait for the prestart and createRuntime hooks");
  }
  const fifo = s.slot();
  if (p.fifoFd !== undefined) {
    // F_DUPFD_CLOEXEC: a copy that does not reach the workload.
    s.call("fcntl", [p.fifoFd, 1030, 3], `${WHO}: cannot take the exec fifo`, { into: fifo });
    s.call("close", [p.fifoFd], "close", { ignore: true });
  } else {
    s.call(
      "openat",
      [AT_FDCWD, s.str(p.fifo), O_PATH | O_CLOEXEC],
      `${WHO}: cannot open the exec fifo`,
      { into: fifo },
    );
  }
  // A procfs of this pid namespace, mounted nowhere: the fifo is reopened through it later.
  const proc = privateProc(e);

  // The switch to the new root.
  s.call("fchdir", [root], `${WHO}: cannot switch to rootfs ${p.rootfs}`);
  if (p.noPivot) {
    for (const mp of p.hostProcAndSys) {
      const cover = s.label();
      const done = s.label();
      s.call("umount2", [s.str(mp), MNT_DETACH], `${WHO}: cannot detach ${mp}`, { onError: cover });
      s.jump(done);
      s.bind(cover);
      e.mount("tmpfs", s.str(mp), "tmpfs", 0, null, `cannot cover ${mp}`);
      s.bind(done);
    }
    e.mount(
      p.rootfs,
      s.str("/"),
      null,
      MS.MOVE,
      null,
      `cannot switch to rootfs ${p.rootfs} (--no-pivot)`,
    );
    s.call("chroot", [s.str(".")], `${WHO}: cannot switch to rootfs ${p.rootfs} (--no-pivot)`);
  } else {
    s.call("pivot_root", [s.str("."), s.str(".")], `${WHO}: cannot switch to rootfs ${p.rootfs}`);
    s.call("umount2", [s.str("."), MNT_DETACH], `${WHO}: cannot detach the old root`);
  }
  s.call("chdir", [s.str("/")], `${WHO}: cannot change to /`);
  e.close(root);
  if (p.setPropagation !== undefined) {
    e.mount(null, s.str("/"), null, p.setPropagation, null, "cannot set the rootfs propagation");
  }
  if (p.console) terminal(e, p.console);
  systemSettings(e, p);
  lockDown(e, p);
  s.call("umask", [p.umask], "umask");
  s.call("chdir", [s.str(p.cwd)], `${WHO}: cannot change to process.cwd ${p.cwd}`);
  rlimitSteps(s, p.rlimits, WHO);
  if (p.keyring !== undefined) {
    s.call(
      "keyctl",
      [KEYCTL_JOIN_SESSION_KEYRING, s.str(p.keyring)],
      `${WHO}: cannot join a new session keyring`,
      {
        ok: [Errno.ENOSYS, Errno.EPERM],
      },
    );
  }

  // A notify filter's fd must reach `create` before "ready"; every other filter goes on last.
  const notify = p.seccomp?.notify === true;
  const installNotify = () => {
    const listener = s.slot();
    seccompStep(s, p.seccomp!, WHO, listener);
    sendFd(
      s,
      ch,
      listener,
      encodeMessage({ type: "seccompFd" }),
      `${WHO}: cannot pass on the seccomp notify fd`,
    );
    e.close(listener);
  };
  if (notify && !p.creds.noNewPrivileges) installNotify();
  credentialSteps(s, p.creds, WHO, notify ? 0n : p.retain);
  if (notify && p.creds.noNewPrivileges) installNotify();
  const program = findProgram(e, p.program);

  line(encodeMessage({ type: "ready" }), "report ready");
  awaitByte("wait to be recorded");
  s.call("close", [ch], "close the channel", { ignore: true });
  // Blocks until `start` opens the fifo for reading.
  const start = s.slot();
  const name = s.format("thread-self/fd/", fifo, "name the fifo");
  s.call("openat", [proc, name, O_WRONLY | O_CLOEXEC], `${WHO}: cannot reopen the exec fifo`, {
    into: start,
  });
  e.close(fifo);
  e.close(proc);
  // From here failures are for people: the container's stderr, and `start` through the fifo.
  s.reports(true, 2, start, EXEC_FAILED);
  s.call("write", [start, s.str("0"), 1], `${WHO}: cannot tell start`);
  cloexecFrom(s, 3 + p.preserveFds);
  const filter = p.seccomp !== undefined && !notify ? p.seccomp : undefined;
  if (filter && !p.creds.noNewPrivileges) seccompStep(s, filter, WHO);
  dropRetained(s, p.creds, notify ? 0n : p.retain, WHO);
  if (filter && p.creds.noNewPrivileges) seccompStep(s, filter, WHO);
  s.call(
    "execve",
    [program, s.strings(p.program.argv), s.strings(p.program.env)],
    `${WHO}: exec ${JSON.stringify(p.program.name)}`,
  );
}

/** lo of a new network namespace is down; a fresh one has only IFF_LOOPBACK set. */
function loopbackUp(e: Emit): void {
  const s = e.s;
  const sock = s.slot();
  s.call("socket", [AF_INET, SOCK_DGRAM | O_CLOEXEC, 0], `${WHO}: cannot bring lo up`, {
    into: sock,
  });
  const req = new Uint8Array(40);
  req.set(new TextEncoder().encode("lo"));
  new DataView(req.buffer).setUint16(16, IFF_UP | IFF_LOOPBACK, true);
  s.call("ioctl", [sock, SIOCSIFFLAGS, s.bytes(req)], `${WHO}: cannot bring lo up`);
  e.close(sock);
}

/** A detached procfs instance of this process's pid namespace. */
function privateProc(e: Emit): Slot {
  const s = e.s;
  const fs = s.slot();
  const proc = s.slot();
  const what = `${WHO}: cannot make a procfs of its own`;
  s.call("fsopen", [s.str("proc"), FSOPEN_CLOEXEC], what, { into: fs });
  s.call("fsconfig", [fs, FSCONFIG_CMD_CREATE, 0, 0, 0], what);
  s.call("fsmount", [fs, FSMOUNT_CLOEXEC, 0], what, { into: proc });
  e.close(fs);
  return proc;
}

/** The container's terminal, from its own devpts: bound on /dev/console, stdio, master sent. */
function terminal(e: Emit, c: NonNullable<NativePlan["console"]>): void {
  const s = e.s;
  const what = `${WHO}: cannot set up the terminal`;
  const master = s.slot();
  const peer = s.slot();
  s.call("openat", [AT_FDCWD, s.str("/dev/ptmx"), O_RDWR | O_NOCTTY | O_CLOEXEC], what, {
    into: master,
  });
  s.call("ioctl", [master, TIOCSPTLCK, s.zeros(4)], what);
  s.call("ioctl", [master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC], what, { into: peer });
  if ((c.rows ?? 0) > 0 && (c.cols ?? 0) > 0) {
    const ws = new Uint16Array([c.rows!, c.cols!, 0, 0]);
    s.call("ioctl", [master, TIOCSWINSZ, s.bytes(new Uint8Array(ws.buffer))], what);
  }
  if (c.uid !== undefined) s.call("fchown", [peer, c.uid, -1], what);
  // /dev/console: made if missing, never followed if it is a link.
  const made = s.slot();
  s.call(
    "openat",
    [AT_FDCWD, s.str("/dev/console"), O_CREAT | O_WRONLY | oNofollow(e.arch) | O_CLOEXEC, 0o666],
    what,
    {
      into: made,
    },
  );
  e.close(made);
  const console = s.slot();
  s.call(
    "openat",
    [AT_FDCWD, s.str("/dev/console"), O_PATH | oNofollow(e.arch) | O_CLOEXEC],
    what,
    { into: console },
  );
  e.mount(
    e.fdPath(peer),
    e.fdPath(console),
    null,
    MS.BIND,
    null,
    "cannot bind the terminal on /dev/console",
  );
  e.close(console);
  sendFd(
    s,
    c.socket,
    master,
    CONSOLE_MESSAGE,
    `${WHO}: cannot send the pty master to the console socket`,
  );
  s.call("close", [c.socket], "close the console socket", { ignore: true });
  s.call("ioctl", [peer, TIOCSCTTY, 0], what);
  for (const fd of [0, 1, 2]) s.call("dup3", [peer, fd, 0], what);
  e.close(peer);
  e.close(master);
}

function writeFile(e: Emit, path: string, text: string, what: string): void {
  const s = e.s;
  const fd = s.slot();
  s.call("openat", [AT_FDCWD, s.str(path), O_WRONLY | O_CLOEXEC], `${WHO}: ${what}`, { into: fd });
  const bytes = new TextEncoder().encode(text);
  s.call("write", [fd, s.bytes(bytes), bytes.length], `${WHO}: ${what}`);
  e.close(fd);
}

function systemSettings(e: Emit, p: NativePlan): void {
  const s = e.s;
  for (
    const [name, value] of [["sethostname", p.hostname], ["setdomainname", p.domainname]] as const
  ) {
    if (!value) continue;
    const b = new TextEncoder().encode(value);
    s.call(
      name,
      [s.bytes(b), b.length],
      `${WHO}: cannot set the hostname: ${name} ${JSON.stringify(value)}`,
    );
  }
  for (const [key, value] of p.sysctl) {
    writeFile(
      e,
      `/proc/sys/${key.replaceAll(".", "/")}`,
      value,
      `cannot set sysctl ${key}=${value}`,
    );
  }
  if (p.oomScoreAdj !== undefined) {
    writeFile(
      e,
      "/proc/self/oom_score_adj",
      String(p.oomScoreAdj),
      `cannot set oomScoreAdj ${p.oomScoreAdj}`,
    );
  }
}

/** Masked and read-only paths (those that exist), then a read-only root. */
function lockDown(e: Emit, p: NativePlan): void {
  const s = e.s;
  if (p.maskedPaths.length + p.readonlyPaths.length === 0 && !p.readonlyRoot) return;
  const root = s.slot();
  s.call(
    "openat",
    [AT_FDCWD, s.str("/"), O_PATH | oDirectory(e.arch) | O_CLOEXEC],
    `${WHO}: cannot open /`,
    { into: root },
  );
  for (const path of p.maskedPaths) {
    const skip = s.label();
    const file = s.label();
    const fd = e.openIn(root, path, undefined, `cannot mask ${path}`, skip);
    // A directory gets an empty read-only tmpfs; anything else /dev/null.
    e.mount("tmpfs", e.fdPath(fd), "tmpfs", MS.RDONLY, "size=0k", `cannot mask ${path}`, {
      onError: file,
    });
    s.jump(skip);
    s.bind(file);
    e.mount("/dev/null", e.fdPath(fd), null, MS.BIND, null, `cannot mask ${path}`);
    s.bind(skip);
    e.close(fd);
  }
  for (const path of p.readonlyPaths) {
    const skip = s.label();
    const fd = e.openIn(root, path, undefined, `cannot make ${path} read-only`, skip);
    const where = e.fdPath(fd);
    e.mount(where, where, null, MS.BIND | MS.REC, null, `cannot make ${path} read-only`);
    const again = e.openIn(root, path, undefined, `cannot make ${path} read-only`);
    setattr(e, again, MS.RDONLY, 0, `cannot make ${path} read-only`);
    e.close(again);
    s.bind(skip);
    e.close(fd);
  }
  if (p.readonlyRoot) setattr(e, root, MS.RDONLY, 0, "cannot make the rootfs read-only");
  e.close(root);
}

/**
 * The program, looked up as execvp would: a name with a slash as it is (relative to the cwd),
 * others in PATH. Fails with runc's messages, before the init reports ready.
 */
function findProgram(e: Emit, prog: NativePlan["program"]): Slot {
  const s = e.s;
  const path = s.slot();
  const found = s.label();
  for (const c of prog.candidates) {
    const here = s.label();
    const next = s.label();
    s.call("faccessat", [AT_FDCWD, s.str(c), X_OK], `${WHO}: look for ${c}`, {
      onOk: here,
      ignore: true,
    });
    s.jump(next);
    s.bind(here);
    s.set(path, s.str(c), "the program");
    s.jump(found);
    s.bind(next);
  }
  const name = JSON.stringify(prog.name);
  if (prog.name.includes("/")) {
    const denied = s.label();
    s.call("faccessat", [AT_FDCWD, s.str(prog.name), F_OK], `${WHO}: look for ${prog.name}`, {
      onOk: denied,
      ignore: true,
    });
    s.fail(0, `exec: ${name}: stat ${prog.name}: no such file or directory`);
    s.bind(denied);
    s.fail(0, `exec: ${name}: permission denied`);
  } else {
    s.fail(0, `exec: ${name}: executable file not found in $PATH`);
  }
  s.bind(found);
  return path;
}
