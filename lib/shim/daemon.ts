/**
 * The shim daemon: one long-lived process per container group (a pod), started by `start`.
 * It listens on the group's socket, serves containerd's Task service over ttrpc, publishes
 * task events back to containerd, and reaps its containers' processes as a child subreaper.
 * It leaves containerd's process group (containerd's signals to `start` are not for it) and
 * lets go of start's pipe once it listens.
 */
import { Logger } from "../log.ts";
import { ExecutorRegistry } from "../executor_registry.ts";
import { hookPids } from "../hooks.ts";
import * as sc from "../sys/syscalls.ts";
import { dupOnto } from "../sys/pty.ts";
import type { ShimFlags } from "./main.ts";
import { TASK_SERVICE } from "./proto/messages.ts";
import { TtrpcServer } from "./ttrpc.ts";
import { Publisher } from "./events.ts";
import { Reaper } from "./reaper.ts";
import { TaskService } from "./service.ts";
import { readLine } from "./line.ts";
import { rehearse } from "./rehearse.ts";
import { ensureSpare, normalPriority } from "./spare.ts";
import { canConnect } from "./start.ts";
import { SOCKET_DIR, SPARE_PID, SPARE_SOCKET, STATE_ROOT } from "./names.ts";
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

/** What a daemon serves: the group's socket, for containerd at its ttrpc address. */
export interface DaemonSetup {
  namespace: string;
  /** The group's socket path. */
  socket: string;
  /** containerd's ttrpc address, where events go ("" publishes none). */
  ttrpcAddress: string;
  debug: boolean;
}

function becomeDaemon(): void {
  try {
    sc.setsid();
  } catch {
    // already a session leader
  }
  Reaper.becomeSubreaper();
}

/**
 * Listens on `path` without a moment where the file exists and refuses connections
 * (containerd retries a socket that is not there yet, but not one that refuses it), for root
 * only, and never over a socket that is there already (link, not rename: two daemons started
 * for one group must not both believe they serve it).
 */
export function listenAt(path: string): Deno.UnixListener {
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    Deno.removeSync(tmp);
  } catch {
    // none left behind
  }
  const listener = Deno.listen({ transport: "unix", path: tmp });
  try {
    Deno.chmodSync(tmp, 0o600);
    Deno.linkSync(tmp, path);
  } catch (err) {
    listener.close();
    throw err;
  } finally {
    try {
      Deno.removeSync(tmp);
    } catch {
      // gone with the listener
    }
  }
  return listener;
}

/**
 * Every executor, loaded now: a daemon lives long, and code loaded on demand could be gone
 * or changed on disk by then (an upgrade while its pods run).
 */
async function loadExecutors(executors: ExecutorRegistry): Promise<ExecutorRegistry> {
  await executors.all();
  return executors;
}

/** Serves the Task service on `listener` until Shutdown; returns the exit status. */
async function serve(
  setup: DaemonSetup,
  listener: Deno.UnixListener,
  registry: ExecutorRegistry,
): Promise<number> {
  const root = `${STATE_ROOT}/${setup.namespace}`;
  Deno.mkdirSync(root, { recursive: true, mode: 0o711 });
  const log = new ShimLogger({ format: "json", debug: setup.debug });
  const publisher = new Publisher(setup.ttrpcAddress, setup.namespace, log);
  const executors = await loadExecutors(registry);
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
    namespace: setup.namespace,
    root,
    executors,
    publisher,
    reaper,
    log,
    shutdown: done,
  });
  server.register(TASK_SERVICE, service.handlers());
  const serving = server.serve(listener);
  // Orphans of containers without a pid namespace, reaped now and then.
  const sweep = setInterval(() => reaper.reapOrphans(), 5000);
  Deno.unrefTimer(sweep);
  // The next pod's daemon, once this one's first containers are under way.
  const spare = setTimeout(() => void ensureSpare(), SPARE_AFTER_MS);
  Deno.unrefTimer(spare);
  await finished;
  clearTimeout(spare);
  clearInterval(sweep);
  // No connection is taken once Shutdown is answered; then the next pod's spare.
  await server.close();
  await serving.catch(() => {});
  await ensureSpare();
  try {
    Deno.removeSync(setup.socket);
  } catch {
    // gone already
  }
  await publisher.flush(5000);
  publisher.close();
  return 0;
}

/** The daemon `start` spawned: listens, says "ready" on start's pipe, serves. */
export async function serveShim(flags: ShimFlags, executors: ExecutorRegistry): Promise<number> {
  becomeDaemon();
  const setup = {
    namespace: flags.namespace,
    socket: flags.socket,
    ttrpcAddress: Deno.env.get("TTRPC_ADDRESS") ?? "",
    debug: flags.debug,
  };
  const listener = listenAt(flags.socket);
  sc.writeAll(1, new TextEncoder().encode("ready\n"), "start's pipe");
  redirectOutput(flags.debug);
  return await serve(setup, listener, executors);
}

/** When a daemon starts the spare for the next pod. */
const SPARE_AFTER_MS = 2000;

/** How long a spare daemon waits to be adopted before it exits. */
const SPARE_IDLE_MS = 10 * 60_000;

/**
 * A spare daemon: started ahead of need (by a daemon, spare.ts), it waits on SPARE_SOCKET with its
 * runtime and denki's code already loaded, so that the next pod's `start` hands it a group
 * instead of waiting for a new Deno to start. The hand-over is one JSON line (DaemonSetup
 * plus the bundle); the spare answers "ready" once it listens on the group's socket.
 */
export async function serveSpare(executors: ExecutorRegistry): Promise<number> {
  becomeDaemon();
  if (await canConnect(SPARE_SOCKET)) return 0; // one spare is enough
  try {
    Deno.removeSync(SPARE_SOCKET); // a spare killed before it could remove it
  } catch {
    // none
  }
  let control: Deno.UnixListener;
  try {
    control = listenAt(SPARE_SOCKET);
  } catch {
    return 0; // another spare got there first
  }
  Deno.writeTextFileSync(SPARE_PID, `${Deno.pid}\n`);
  await loadExecutors(executors);
  await rehearse(`${STATE_ROOT}/.rehearsal-${Deno.pid}`);
  const idle = setTimeout(() => control.close(), SPARE_IDLE_MS);
  try {
    for await (const conn of control) {
      const adopted = await adopt(conn);
      if (adopted === undefined) continue;
      clearTimeout(idle);
      control.close();
      forget();
      return await serve(adopted.setup, adopted.listener, executors);
    }
  } catch {
    // closed by the idle timer
  }
  forget();
  return 0;
}

/** Removes the spare's socket and pid file, if they are still this process's. */
function forget(): void {
  try {
    if (Deno.readTextFileSync(SPARE_PID).trim() !== String(Deno.pid)) return;
    Deno.removeSync(SPARE_SOCKET);
    Deno.removeSync(SPARE_PID);
  } catch {
    // gone already
  }
}

/** Reads one hand-over request from `conn`; listens on the group's socket and says so. */
async function adopt(
  conn: Deno.UnixConn,
): Promise<{ setup: DaemonSetup; listener: Deno.UnixListener } | undefined> {
  // A pod waits on this: back to normal CPU priority at once.
  normalPriority();
  try {
    const line = await readLine(conn, 64 * 1024, 2000);
    const req = JSON.parse(line ?? "null");
    const str = (v: unknown) => typeof v === "string" ? v : undefined;
    const namespace = str(req?.namespace);
    const socket = str(req?.socket);
    const bundle = str(req?.bundle);
    if (namespace === undefined || socket === undefined || bundle === undefined) {
      throw new Error("bad hand-over request");
    }
    // Only what `start` computes: a group socket in the socket dir, a plain namespace name.
    if (!new RegExp(`^${SOCKET_DIR}/[0-9a-f]{64}$`).test(socket)) {
      throw new Error("not a shim socket path");
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,75}$/.test(namespace)) throw new Error("bad namespace");
    if (!bundle.startsWith("/")) throw new Error("bundle is not absolute");
    const setup: DaemonSetup = {
      namespace,
      socket,
      ttrpcAddress: str(req.ttrpcAddress) ?? "",
      debug: req.debug === true,
    };
    const listener = listenAt(socket);
    Deno.chdir(bundle);
    redirectOutput(setup.debug);
    await conn.write(new TextEncoder().encode("ready\n"));
    return { setup, listener };
  } catch (err) {
    await conn.write(new TextEncoder().encode(`error: ${(err as Error).message}\n`)).catch(
      () => {},
    );
    return undefined;
  } finally {
    conn.close();
  }
}
