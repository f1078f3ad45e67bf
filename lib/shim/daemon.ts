/**
 * The shim daemon: one long-lived process per container group (a pod), started by `start`.
 * It listens on the group's socket, serves containerd's Task service over ttrpc, publishes
 * task events back to containerd, and reaps its containers' processes as a child subreaper.
 * It leaves containerd's process group (containerd's signals to `start` are not for it) and
 * lets go of start's pipe once it listens.
 */
import { Logger } from "../log.ts";
import { ExecutorRegistry } from "../executor_registry.ts";
import { registerExecutors } from "../../executors/mod.ts";
import { hookPids } from "../hooks.ts";
import * as sc from "../sys/syscalls.ts";
import { dupOnto } from "../sys/pty.ts";
import type { ShimFlags } from "./main.ts";
import { TASK_SERVICE } from "./proto/messages.ts";
import { TtrpcServer } from "./ttrpc.ts";
import { Publisher } from "./events.ts";
import { Reaper } from "./reaper.ts";
import { TaskService } from "./service.ts";
import { STATE_ROOT } from "./names.ts";
import { loggerReaped } from "./stdio.ts";

/** A logger whose failures (containerd gone, its log fifo full) never reach the caller. */
class ShimLogger extends Logger {
  override debug(msg: string): void {
    try {
      super.debug(msg);
    } catch { /* nowhere to log to */ }
  }
  override info(msg: string): void {
    try {
      super.info(msg);
    } catch { /* nowhere to log to */ }
  }
  override warn(msg: string): void {
    try {
      super.warn(msg);
    } catch { /* nowhere to log to */ }
  }
  override error(msg: string): void {
    try {
      super.error(msg);
    } catch { /* nowhere to log to */ }
  }
}

/** Points fd 1 at /dev/null and fd 2 at containerd's shim log fifo (or /dev/null). */
function redirectOutput(debug: boolean): void {
  const devnull = sc.open("/dev/null", sc.O_RDWR | sc.O_CLOEXEC);
  dupOnto(devnull, 1);
  let log = devnull;
  if (debug) {
    // containerd reads `log` in the bundle (our cwd) for as long as it runs.
    try {
      log = sc.open("log", sc.O_WRONLY | sc.O_NONBLOCK | sc.O_CLOEXEC);
    } catch {
      log = devnull;
    }
  }
  dupOnto(log, 2);
  if (log !== devnull) sc.close(log);
  sc.close(devnull);
}

/** Serves until Shutdown; returns the exit status. */
export async function serveShim(flags: ShimFlags): Promise<number> {
  try {
    sc.setsid();
  } catch {
    // already a session leader
  }
  Reaper.becomeSubreaper();
  const root = `${STATE_ROOT}/${flags.namespace}`;
  Deno.mkdirSync(root, { recursive: true, mode: 0o711 });
  const log = new ShimLogger({ format: "json", debug: flags.debug });
  const publisher = new Publisher(Deno.env.get("TTRPC_ADDRESS") ?? "", flags.namespace, log);
  const executors = new ExecutorRegistry();
  registerExecutors(executors);
  // Orphans are reaped only between lifecycle calls: a call in flight may be waiting for a
  // child of its own by pid (a failed init, a stage).
  const reaper: Reaper = new Reaper(
    hookPids,
    (): boolean => service.busy,
    (pid) => loggerReaped(pid),
  );
  const server = new TtrpcServer();
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const service: TaskService = new TaskService({
    namespace: flags.namespace,
    root,
    executors,
    publisher,
    reaper,
    log,
    shutdown: done,
  });
  server.register(TASK_SERVICE, service.handlers());
  try {
    Deno.removeSync(flags.socket);
  } catch {
    // none left behind
  }
  const listener = Deno.listen({ transport: "unix", path: flags.socket });
  const serving = server.serve(listener);
  sc.writeAll(1, new TextEncoder().encode("ready\n"), "start's pipe");
  redirectOutput(flags.debug);
  // Orphans of containers without a pid namespace, reaped now and then.
  const sweep = setInterval(() => reaper.reapOrphans(), 5000);
  Deno.unrefTimer(sweep);
  await finished;
  clearInterval(sweep);
  await server.close();
  await serving.catch(() => {});
  try {
    Deno.removeSync(flags.socket);
  } catch {
    // gone already
  }
  await publisher.flush(5000);
  publisher.close();
  return 0;
}
