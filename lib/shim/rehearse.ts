/**
 * A spare daemon's warm-up: while it waits for a pod it plans a typical container (the
 * default config, with the host's root standing in for a rootfs) and compiles its init
 * scripts, and round-trips a Task request through the codec, all without making anything.
 * V8 then has the code a Create runs compiled and warm when a pod arrives, which a fresh
 * daemon's first Create otherwise pays for. The stdio and state parts do make files, in a
 * directory of their own that they remove.
 */
import { initLaunchPlan } from "../linux/namespaces.ts";
import { initLaunchScript } from "../linux/launch.ts";
import { buildNativePlan } from "../linux/native/build.ts";
import { handoffSteps } from "../linux/native/handoff.ts";
import { nativeInitSteps } from "../linux/native/init.ts";
import { Script } from "../spawn/script.ts";
import { defaultSpec } from "../spec/default.ts";
import { parseSpec } from "../spec/parse.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import * as sc from "../sys/syscalls.ts";
import { StateStore } from "../state/store.ts";
import { claimContainer, creatingRecord } from "../lifecycle/leftover.ts";
import { Logger } from "../log.ts";
import { openStdio } from "./stdio.ts";
import { CreateTaskRequest } from "./proto/messages.ts";
import { decode, encode } from "./proto/wire.ts";

/** How many times each path runs (V8 optimizes what runs often). */
const ROUNDS = 20;

/**
 * Runs the create path on a stand-in container: planning and compiling, then a claim in a
 * state root of its own and stdio on fifos of its own (both removed); never throws.
 */
export async function rehearse(scratch: string): Promise<void> {
  plan();
  try {
    Deno.mkdirSync(scratch, { mode: 0o700 });
  } catch {
    return;
  }
  try {
    for (let i = 0; i < ROUNDS / 4; i++) {
      await claimAndRemove(`${scratch}/root`);
      await stdio(scratch, i);
    }
  } catch {
    // A warm-up only.
  } finally {
    try {
      Deno.removeSync(scratch, { recursive: true });
    } catch {
      // left for the next spare to clean: it is under the shim's own state root
    }
  }
}

/** Claims a container id in `root` and removes it again (state dir, lock, creating record). */
async function claimAndRemove(root: string): Promise<void> {
  const store = new StateStore(root);
  try {
    const lock = await claimContainer(
      store,
      creatingRecord(
        { id: "rehearsal", bundle: "/", rootfs: "/", owner: "root", created: "" },
        undefined,
      ),
      QUIET,
    );
    try {
      store.remove(lock);
    } finally {
      lock.release();
    }
  } finally {
    store.close();
  }
}

/** A process's stdio on three fifos nobody else opens: opened, handed over, closed. */
async function stdio(dir: string, round: number): Promise<void> {
  const paths = ["in", "out", "err"].map((n) => `${dir}/${n}-${round}`);
  for (const p of paths) sc.mknodat(sc.AT_FDCWD, p, sc.S_IFIFO | 0o600, 0n);
  const io = await openStdio({
    stdin: paths[0]!,
    stdout: paths[1]!,
    stderr: paths[2]!,
    terminal: false,
    id: "rehearsal",
    namespace: "rehearsal",
  });
  io.handedOver();
  io.connectStdin();
  io.closeStdin();
  io.close();
}

const QUIET = new Logger({ format: "text", debug: false, file: "/dev/null" });

/** Planning and compiling a typical container's init scripts; never throws. */
function plan(): void {
  try {
    const text = JSON.stringify(defaultSpec({ rootless: false, uid: 0, gid: 0 }));
    const mountinfo = readTextRaw("/proc/self/mountinfo") ?? "";
    for (let i = 0; i < ROUNDS; i++) {
      const spec = parseSpec(text, "rehearsal/config.json");
      spec.process!.args = ["sh"];
      const plan = buildNativePlan({
        spec,
        id: "rehearsal",
        bundle: "/",
        rootfs: "/",
        stateDir: "/",
        channel: 3,
        preserveFds: 0,
        noPivot: false,
        noNewKeyring: false,
        mountinfo,
      });
      const init = new Script(Deno.build.arch);
      nativeInitSteps(init, plan);
      init.build({ fd: 3, failCode: 1, text: false });
      const launch = initLaunchScript(
        {
          ...initLaunchPlan(spec, ["denki"], 3, [], mountinfo, false, [0, 1, 2]),
          native: (s: Script) => handoffSteps(s, 3, []),
        },
        Deno.build.arch,
      );
      launch.build({ fd: 3, failCode: 1, text: false });
      const req = encode(CreateTaskRequest, {
        id: "rehearsal",
        bundle: "/",
        rootfs: [{ type: "overlay", source: "overlay", options: ["lowerdir=/a", "upperdir=/b"] }],
        stdin: "/x",
        stdout: "/y",
      });
      decode(CreateTaskRequest, req);
    }
  } catch {
    // A warm-up only: the real Create reports its own errors.
  }
}
