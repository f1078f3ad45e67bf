/**
 * A native init in two scripts. `create` starts the stage as soon as the container's cgroup
 * exists, with a short first script (the launch: namespaces, the fork into PID 1) whose forked
 * init joins the cgroup and then waits for the rest. Meanwhile `create` plans the container and
 * builds the second script (lib/linux/native/init.ts); it sends it as a memfd, with the stage
 * program, and the init re-executes the stage on it. The kernel's slow parts (new namespaces,
 * the cgroup moves, which wait for RCU grace periods) so overlap with `create`'s planning.
 */
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  F_SETFD,
  FD_CLOEXEC,
  O_CLOEXEC,
  O_WRONLY,
} from "../../plan/abi.ts";
import { Data, type Script } from "../../spawn/script.ts";
import { scriptFd, stageProgram } from "../../spawn/stage.ts";
import { sendWithFds } from "../../sys/unix.ts";
import * as sc from "../../sys/syscalls.ts";

const WHO = "denki init";

/**
 * The forked init's steps in the first script: it moves itself into the container's cgroup
 * (`cgroupJoinSteps`), then takes the second script and the stage program from the channel
 * and runs them. A closed channel (create gave up) ends it.
 */
export function handoffSteps(s: Script, channel: number, cgroupDirs: readonly string[]): void {
  cgroupJoinSteps(s, cgroupDirs);
  // struct msghdr for one byte and two fds (CMSG_SPACE(8) = 24).
  const iov = s.words([s.zeros(8), 1]);
  const control = s.zeros(24);
  const msg = s.words([0, 0, iov, 1, control, 24, 0]);
  s.call("recvmsg", [channel, msg, 0], `${WHO}: cannot receive the rest of the init`, {
    exitOnEof: 1,
  });
  const script = s.slot();
  const program = s.slot();
  s.load(new Data(control.offset + 16), script, "the script's fd");
  s.load(new Data(control.offset + 20), program, "the stage program's fd");
  // The program fd goes with the exec; the script's is read and closed by the stage.
  s.call("fcntl", [program, F_SETFD, FD_CLOEXEC], `${WHO}: cannot mark the stage's fd`);
  const argv = s.words([s.str("denki-stage"), s.format("", script, "name the script's fd"), 0]);
  s.call(
    "execveat",
    [program, s.str(""), argv, s.words([0]), AT_EMPTY_PATH],
    `${WHO}: cannot run the rest of the init`,
  );
}

/**
 * Steps that move the calling process into the container's cgroup: every directory's
 * `cgroup.procs`. A process in a new user namespace cannot write those (they are the host's),
 * so with one the stage takes these steps before it makes the namespace, and the init it forks
 * inherits the cgroup.
 */
export function cgroupJoinSteps(s: Script, cgroupDirs: readonly string[]): void {
  for (const dir of cgroupDirs) {
    const fd = s.slot();
    const what = `${WHO}: cannot join cgroup ${dir}`;
    s.call("openat", [AT_FDCWD, s.str(`${dir}/cgroup.procs`), O_WRONLY | O_CLOEXEC], what, {
      into: fd,
    });
    // "0" is the writer itself.
    s.call("write", [fd, s.str("0"), 1], what, { expect: 1 });
    s.call("close", [fd], "close", { ignore: true });
    s.release(fd);
  }
}

/** Sends the second script (built bytes) and the stage program to the waiting init. */
export function sendRest(channelFd: number, script: Uint8Array): void {
  const fd = scriptFd(script);
  try {
    sendWithFds(channelFd, new Uint8Array([0x0a]), [fd, stageProgram()]);
  } finally {
    sc.close(fd);
  }
}
