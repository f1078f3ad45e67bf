/**
 * The container's terminal (`process.terminal`), set up by the init as runc does: a pty from
 * the devpts the init is looking at, its peer bound on /dev/console and made the process's
 * controlling terminal and stdio, and the master sent to whoever holds the console socket.
 */
import { DenkiError } from "../errors.ts";
import { MS } from "../plan/mount_options.ts";
import * as pty from "../sys/pty.ts";
import * as sc from "../sys/syscalls.ts";
import { sendWithFds } from "../sys/unix.ts";

/**
 * The data that travels with the master fd: runc sends the master's file name (its
 * containerd/console master is opened as /dev/ptmx). Receivers (go-runc's console socket,
 * conmon's recvfd) only check that exactly one SCM_RIGHTS fd came and ignore the text.
 */
export const CONSOLE_MESSAGE = "/dev/ptmx";

/** How the init sets up the terminal. */
export interface ConsoleSetup {
  /** A connected unix socket that receives the master; closed here. */
  socket: number;
  /** Bind the peer on /dev/console (the container's own root, after the switch). */
  mountConsole: boolean;
  /** The uid that will own the peer (process.user.uid); undefined leaves the owner. */
  uid?: number | undefined;
  /** process.consoleSize. */
  size?: { height: number; width: number } | undefined;
}

/** Creates the terminal, sends its master and makes its peer stdio 0, 1, 2 and the ctty. */
export function setupConsole(how: ConsoleSetup): void {
  let master = -1;
  let peer = -1;
  try {
    master = pty.openPtmx("/dev/ptmx");
    pty.unlockPty(master);
    const n = pty.ptyNumber(master);
    peer = pty.openPeer(master);
    const size = how.size;
    // runc applies the size only when both are set (0 means the terminal's default).
    if (size !== undefined && size.height > 0 && size.width > 0) {
      pty.setWindowSize(master, { rows: size.height, cols: size.width });
    }
    // Only the owner changes: devpts gives the peer its group (gid=5, tty) and mode 0620,
    // and a process that is not root must be able to use its own terminal.
    if (how.uid !== undefined) {
      sc.fchownat(peer, "", how.uid, -1, sc.AT_EMPTY_PATH);
    }
    if (how.mountConsole) mountDevConsole(n);
    sendWithFds(how.socket, new TextEncoder().encode(CONSOLE_MESSAGE), [master]);
    // The init is a session leader without a terminal (it called setsid).
    pty.setControllingTerminal(peer);
    for (const fd of [...stdioCopies(), 0, 1, 2]) pty.dupOnto(peer, fd);
  } catch (err) {
    throw new DenkiError(`cannot set up the terminal: ${(err as Error).message}`);
  } finally {
    if (peer > 2) sc.close(peer);
    if (master >= 0) sc.close(master);
    sc.close(how.socket);
  }
}

/**
 * Descriptors above 2 that share an open file with stdio: Deno keeps its own duplicates of
 * stdout and stderr. They must follow stdio to the pty, or the caller's pipe stays open until
 * the exec: containerd's shim reads `create`'s output to the end before it starts the
 * container, so that would deadlock.
 */
function stdioCopies(): number[] {
  const pid = sc.getpid();
  const copies: number[] = [];
  for (const fd of openFds()) {
    if (fd > 2 && [0, 1, 2].some((std) => sameFile(pid, std, fd))) copies.push(fd);
  }
  return copies;
}

/** The open descriptors, from /proc/self/fd (or by probing when /proc is not mounted). */
function openFds(): number[] {
  try {
    return sc.listDir("/proc/self/fd").map(Number);
  } catch {
    const fds: number[] = [];
    for (let fd = 0; fd < 1024; fd++) if (sc.isOpenFd(fd)) fds.push(fd);
    return fds;
  }
}

/**
 * Whether two fds are one open file description: kcmp(KCMP_FILE), or where kcmp is missing
 * the same inode, except for devices that are not terminals (Deno's own /dev/null is not a
 * copy of a /dev/null stdin).
 */
function sameFile(pid: number, a: number, b: number): boolean {
  const same = sc.sameOpenFile(pid, a, b);
  if (same !== undefined) return same;
  const id = sc.fileId(a, "", sc.AT_EMPTY_PATH);
  if (id === undefined || id !== sc.fileId(b, "", sc.AT_EMPTY_PATH)) return false;
  return sc.fileType(a, "", sc.AT_EMPTY_PATH) !== sc.S_IFCHR || pty.isTerminal(a);
}

/**
 * Binds pts N on /dev/console, as the runtime spec asks when there is a terminal. This runs
 * in the container's root before the workload exists, so plain paths stay inside it; a
 * symlink there is refused rather than followed.
 */
function mountDevConsole(n: number): void {
  const type = sc.fileType(sc.AT_FDCWD, "/dev/console");
  if (type === sc.S_IFLNK) throw new DenkiError("/dev/console is a symlink");
  if (type === undefined) {
    const fd = sc.open(
      "/dev/console",
      sc.O_CREAT | sc.O_EXCL | sc.O_NOFOLLOW | sc.O_WRONLY | sc.O_CLOEXEC,
      0o666,
    );
    sc.close(fd);
  }
  sc.mount(`/dev/pts/${n}`, "/dev/console", null, MS.BIND, null);
}
