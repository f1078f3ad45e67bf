/**
 * The Task service (containerd.task.v2.Task) of the shim: every call runs denki's lifecycle in
 * this process (lib/lifecycle), never the denki CLI. The shim keeps what the lifecycle's state
 * directory does not: each process's stdio, its exit status once reaped, and the exec
 * processes containerd has announced. Calls that start or change processes run one at a time
 * (a spawn must not hand one container's fds to another's init); State, Wait, Pids and Stats
 * do not wait for them.
 */
import { InvalidState } from "../errors.ts";
import { createContainer } from "../lifecycle/create.ts";
import { startContainer } from "../lifecycle/start.ts";
import { deleteContainer } from "../lifecycle/stop.ts";
import { killContainer } from "../lifecycle/kill.ts";
import { startExec } from "../lifecycle/exec.ts";
import {
  containerProcesses,
  pauseContainer,
  resumeContainer,
  updateContainer,
  withCgroup,
} from "../lifecycle/control.ts";
import { containerStats } from "../lifecycle/events.ts";
import { parseProcess, parseResources } from "../spec/parse.ts";
import { readContainer } from "../lifecycle/read.ts";
import * as sc from "../sys/syscalls.ts";
import * as m from "./proto/messages.ts";
import { METRICS_TYPE_URL, toAny } from "./proto/messages.ts";
import type { MessageInit, Schema } from "./proto/wire.ts";
import { Code, type Handler, TtrpcError, unary } from "./ttrpc.ts";
import { nowNs } from "./reaper.ts";
import { mountRootfs, unmountRootfs } from "./rootfs.ts";
import { openStdio, type ProcessStdio } from "./stdio.ts";
import { metricsOf } from "./stats.ts";
import { hostedRoute } from "./hosted.ts";
import type { HostedRun } from "../executor.ts";
import { DENKI_VERSION } from "../version.ts";
import {
  EXEC_SPEC_URL,
  leaveAnswer,
  newProc,
  type Proc,
  type ServiceDeps,
  statusOf,
  type Task,
  timestamp,
} from "./tasks.ts";

export type { ServiceDeps } from "./tasks.ts";

/** The shim's Task service. */
export class TaskService {
  readonly #d: ServiceDeps;
  readonly #tasks = new Map<string, Task>();
  #serial: Promise<unknown> = Promise.resolve();
  #busy = 0;

  constructor(deps: ServiceDeps) {
    this.#d = deps;
  }

  /** True while a call that spawns or changes processes is running. */
  get busy(): boolean {
    return this.#busy > 0;
  }

  /** The number of tasks this shim holds. */
  get size(): number {
    return this.#tasks.size;
  }

  /** The handlers to register under containerd.task.v2.Task. */
  handlers(): Record<string, Handler> {
    const h = <Req, Res>(
      req: Schema<Req>,
      res: Schema<Res>,
      fn: (r: Req) => Promise<MessageInit<Res>>,
      serial = true,
    ): Handler =>
      unary(req, res, async (r) => {
        try {
          return serial ? await this.#one(() => fn(r)) : await fn(r);
        } catch (err) {
          throw statusOf(err);
        }
      });
    return {
      State: h(m.StateRequest, m.StateResponse, (r) => this.state(r), false),
      Create: h(m.CreateTaskRequest, m.CreateTaskResponse, (r) => this.create(r)),
      Start: h(m.StartRequest, m.StartResponse, (r) => this.start(r)),
      Delete: h(m.DeleteRequest, m.DeleteResponse, (r) => this.delete(r)),
      Pids: h(m.PidsRequest, m.PidsResponse, (r) => this.pids(r), false),
      Pause: h(m.PauseRequest, m.Empty, (r) => this.pause(r)),
      Resume: h(m.ResumeRequest, m.Empty, (r) => this.resume(r)),
      Checkpoint: h(m.CheckpointTaskRequest, m.Empty, () => {
        throw new TtrpcError(Code.UNIMPLEMENTED, "checkpoint is not supported by denki yet");
      }, false),
      Kill: h(m.KillRequest, m.Empty, (r) => this.kill(r)),
      Exec: h(m.ExecProcessRequest, m.Empty, (r) => this.exec(r)),
      ResizePty: h(m.ResizePtyRequest, m.Empty, (r) => this.resize(r), false),
      CloseIO: h(m.CloseIORequest, m.Empty, (r) => this.closeIO(r), false),
      Update: h(m.UpdateTaskRequest, m.Empty, (r) => this.update(r)),
      Wait: h(m.WaitRequest, m.WaitResponse, (r) => this.wait(r), false),
      Stats: h(m.StatsRequest, m.StatsResponse, (r) => this.stats(r), false),
      Connect: h(m.ConnectRequest, m.ConnectResponse, (r) => this.connect(r), false),
      // Queued: a Create waiting its turn counts as a task.
      Shutdown: h(m.ShutdownRequest, m.Empty, (r) => this.shutdown(r)),
    };
  }

  /** Runs `fn` after every serial call queued before it. */
  #one<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(async () => {
      this.#busy++;
      try {
        return await fn();
      } finally {
        this.#busy--;
      }
    });
    this.#serial = run.catch(() => {});
    return run;
  }

  #task(id: string): Task {
    const t = this.#tasks.get(id);
    if (t === undefined) throw new TtrpcError(Code.NOT_FOUND, `task ${id} not found`);
    return t;
  }

  #proc(id: string, execId: string): Proc {
    const t = this.#task(id);
    if (execId === "") return t.init;
    const p = t.execs.get(execId);
    if (p === undefined) {
      throw new TtrpcError(Code.NOT_FOUND, `process ${execId} of task ${id} not found`);
    }
    return p;
  }

  /** Records a process's exit once reaped, drains its output, then reports it. */
  #watch(task: Task, proc: Proc, exited = this.#d.reaper.watch(proc.pid)): void {
    // A watch that cannot start (no pidfd: EMFILE) must not take the daemon down with an
    // unhandled rejection: the process counts as killed.
    const safe = exited.catch((err) => {
      this.#d.log.warn(`cannot watch pid ${proc.pid}: ${(err as Error).message}`);
      return { status: 137, at: nowNs() };
    });
    void safe.then(async (exit) => {
      proc.exit = exit;
      await proc.stdio?.drained();
      if (proc.execId === "" && task.hosted === undefined && this.#oomKilled(task)) {
        this.#d.publisher.publish("TaskOOM", { containerId: task.id });
      }
      this.#d.publisher.publish("TaskExit", {
        containerId: task.id,
        id: proc.execId === "" ? task.id : proc.execId,
        pid: proc.pid,
        exitStatus: exit.status,
        exitedAt: timestamp(exit.at),
      });
      proc.settle(exit);
    });
  }

  /** Whether the kernel's OOM killer struck in the task's cgroup (checked at the init's exit). */
  #oomKilled(task: Task): boolean {
    try {
      return withCgroup(this.#d.root, task.id, "read").cg.oomKills() > 0;
    } catch {
      return false;
    }
  }

  async create(r: m.CreateTaskRequest): Promise<MessageInit<m.CreateTaskResponse>> {
    if (this.#tasks.has(r.id)) {
      throw new TtrpcError(Code.ALREADY_EXISTS, `task ${r.id} already exists`);
    }
    if (r.checkpoint !== "") {
      throw new TtrpcError(Code.UNIMPLEMENTED, "restoring a checkpoint is not supported by denki");
    }
    const rootfs = r.rootfs.length > 0 ? `${r.bundle}/rootfs` : undefined;
    if (rootfs !== undefined) mountRootfs(r.rootfs, rootfs);
    const io = { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal };
    let stdio: ProcessStdio | undefined;
    try {
      stdio = await openStdio({ ...io, id: r.id, namespace: this.#d.namespace });
      const fds = stdio.fds;
      const hosted = fds === undefined ? undefined : await hostedRoute(
        r.id,
        r.bundle,
        fds,
        this.#d.executors,
        this.#d.log,
      );
      if (hosted !== undefined) return this.#created(r, io, rootfs, stdio, Deno.pid, hosted);
      let created;
      try {
        created = await createContainer(
          this.#d.root,
          {
            id: r.id,
            bundle: r.bundle,
            noPivot: false,
            noNewKeyring: false,
            preserveFds: 0,
            // The shim holds the stdio: a terminal's master comes back here, as in `run`.
            foreground: true,
            stdio: fds,
          },
          await this.#d.executors.all(),
          this.#d.log,
        );
      } finally {
        stdio.handedOver();
      }
      if (created.console !== undefined) stdio.attachConsole(created.console);
      return this.#created(r, io, rootfs, stdio, created.record.pid, undefined);
    } catch (err) {
      stdio?.close();
      if (rootfs !== undefined) unmountRootfs(rootfs);
      throw err;
    }
  }

  /**
   * Records a created task and reports it: its init `pid`, or with `hosted` a workload run in
   * the shim, which has no process of its own (the shim's pid stands for it, as runwasi's
   * shims report) and whose stdio stays the shim's.
   */
  #created(
    r: m.CreateTaskRequest,
    io: Proc["io"],
    rootfs: string | undefined,
    stdio: ProcessStdio,
    pid: number,
    hosted: HostedRun | undefined,
  ): MessageInit<m.CreateTaskResponse> {
    const init = newProc("", io);
    init.pid = pid;
    init.stdio = stdio;
    const task: Task = {
      id: r.id,
      bundle: r.bundle,
      rootfs,
      init,
      execs: new Map(),
      ...(hosted ? { hosted } : {}),
    };
    this.#tasks.set(r.id, task);
    if (hosted === undefined) this.#watch(task, init);
    else this.#watch(task, init, hosted.exited.then((status) => ({ status, at: nowNs() })));
    this.#d.publisher.publish("TaskCreate", {
      containerId: r.id,
      bundle: r.bundle,
      rootfs: r.rootfs,
      io,
      checkpoint: r.checkpoint,
      pid: init.pid,
    });
    return { pid: init.pid };
  }

  /** Refuses what a workload run in the shim cannot do. */
  #notHosted(task: Task, what: string): void {
    if (task.hosted !== undefined) {
      throw new TtrpcError(
        Code.FAILED_PRECONDITION,
        `cannot ${what} task ${task.id}: its Wasm guest runs in the shim (no process of its own)`,
      );
    }
  }

  async start(r: m.StartRequest): Promise<MessageInit<m.StartResponse>> {
    const task = this.#task(r.id);
    const proc = this.#proc(r.id, r.execId);
    if (proc.started || proc.exit !== undefined) {
      throw new TtrpcError(Code.FAILED_PRECONDITION, `process ${r.execId || r.id} already started`);
    }
    // The stdin fifo opens now, as the process starts: ctr asks for CloseIO at its stdin's
    // end only once Create has returned, and an end reached before that would be lost.
    if (r.execId === "") proc.stdio?.connectStdin();
    if (r.execId === "" && task.hosted !== undefined) {
      task.hosted.start();
      proc.started = true;
      this.#d.publisher.publish("TaskStart", { containerId: r.id, pid: proc.pid });
      return { pid: proc.pid };
    }
    if (r.execId === "") {
      await startContainer(this.#d.root, r.id, this.#d.log);
      proc.started = true;
      this.#d.publisher.publish("TaskStart", { containerId: r.id, pid: proc.pid });
      return { pid: proc.pid };
    }
    const stdio = await openStdio({ ...proc.io, id: r.id, namespace: this.#d.namespace });
    try {
      const fds = stdio.fds;
      let started;
      try {
        const spec = proc.spec!;
        started = await startExec(
          this.#d.root,
          r.id,
          {
            process: () => spec,
            preserveFds: 0,
            ignorePaused: false,
          },
          fds,
          this.#d.log,
        );
      } finally {
        stdio.handedOver();
      }
      if (started.master !== undefined) stdio.attachConsole(started.master);
      stdio.connectStdin();
      proc.pid = started.pid;
      proc.stdio = stdio;
      proc.started = true;
      this.#watch(task, proc);
      this.#d.publisher.publish("TaskExecStarted", {
        containerId: r.id,
        execId: r.execId,
        pid: proc.pid,
      });
      return { pid: proc.pid };
    } catch (err) {
      stdio.close();
      // It never ran: a Wait on it (CRI's ExecSync waits before it starts) must still end.
      this.#failed(proc);
      throw err;
    }
  }

  /** Ends an exec that never ran: Wait and State see it exited with 255. */
  #failed(proc: Proc): void {
    if (proc.exit !== undefined) return;
    proc.exit = { status: 255, at: nowNs() };
    proc.settle(proc.exit);
  }

  async delete(r: m.DeleteRequest): Promise<MessageInit<m.DeleteResponse>> {
    const task = this.#task(r.id);
    const proc = this.#proc(r.id, r.execId);
    if (r.execId !== "") {
      if (proc.started && proc.exit === undefined) {
        throw new TtrpcError(Code.FAILED_PRECONDITION, `exec ${r.execId} is still running`);
      }
      proc.stdio?.close();
      if (!proc.started) this.#failed(proc);
      task.execs.delete(r.execId);
      return this.#deleted(proc);
    }
    if (proc.exit === undefined) {
      const status = this.#status(task);
      if (status !== "created" && status !== "stopped") {
        throw new TtrpcError(Code.FAILED_PRECONDITION, `task ${r.id} must be stopped first`);
      }
    }
    if (task.hosted !== undefined) task.hosted.kill(9);
    else await deleteContainer(this.#d.root, r.id, true, this.#d.log);
    // A created init is killed by the delete: its exit comes from the reaper.
    const exit = await Promise.race([
      proc.exited,
      new Promise<undefined>((res) => setTimeout(() => res(undefined), 10_000)),
    ]);
    for (const e of task.execs.values()) e.stdio?.close();
    proc.stdio?.close();
    if (task.rootfs !== undefined) unmountRootfs(task.rootfs);
    this.#tasks.delete(r.id);
    const out = this.#deleted(proc);
    leaveAnswer(task.bundle, out);
    this.#d.publisher.publish("TaskDelete", {
      containerId: r.id,
      pid: proc.pid,
      exitStatus: exit?.status ?? 0,
      exitedAt: timestamp(exit?.at),
      id: r.id,
    });
    return out;
  }

  #deleted(proc: Proc): MessageInit<m.DeleteResponse> {
    return {
      pid: proc.pid,
      exitStatus: proc.exit?.status ?? 0,
      exitedAt: timestamp(proc.exit?.at),
    };
  }

  /** denki's status of the task's container, as the state directory has it. */
  #status(task: Task): string {
    if (task.init.exit !== undefined) return "stopped";
    if (task.hosted !== undefined) return task.init.started ? "running" : "created";
    try {
      return readContainer(this.#d.root, task.id).status;
    } catch {
      return "unknown";
    }
  }

  state(r: m.StateRequest): Promise<MessageInit<m.StateResponse>> {
    const task = this.#task(r.id);
    const proc = this.#proc(r.id, r.execId);
    let status: number;
    if (proc.exit !== undefined) status = m.TaskStatus.STOPPED;
    else if (r.execId !== "") status = proc.started ? m.TaskStatus.RUNNING : m.TaskStatus.CREATED;
    else {
      const s = this.#status(task);
      status = s === "created"
        ? m.TaskStatus.CREATED
        : s === "running"
        ? m.TaskStatus.RUNNING
        : s === "paused"
        ? m.TaskStatus.PAUSED
        : s === "stopped"
        ? m.TaskStatus.STOPPED
        : m.TaskStatus.UNKNOWN;
    }
    return Promise.resolve({
      id: r.execId === "" ? r.id : r.execId,
      bundle: task.bundle,
      pid: proc.pid,
      status,
      ...proc.io,
      exitStatus: proc.exit?.status ?? 0,
      exitedAt: timestamp(proc.exit?.at),
      execId: r.execId,
    });
  }

  pids(r: m.PidsRequest): Promise<MessageInit<m.PidsResponse>> {
    if (this.#task(r.id).hosted !== undefined) return Promise.resolve({ processes: [] });
    const pids = containerProcesses(this.#d.root, r.id);
    return Promise.resolve({ processes: pids.map((pid) => ({ pid })) });
  }

  async pause(r: m.PauseRequest): Promise<MessageInit<m.Empty>> {
    this.#notHosted(this.#task(r.id), "pause");
    await pauseContainer(this.#d.root, r.id);
    this.#d.publisher.publish("TaskPaused", { containerId: r.id });
    return {};
  }

  async resume(r: m.ResumeRequest): Promise<MessageInit<m.Empty>> {
    this.#notHosted(this.#task(r.id), "resume");
    await resumeContainer(this.#d.root, r.id);
    this.#d.publisher.publish("TaskResumed", { containerId: r.id });
    return {};
  }

  async kill(r: m.KillRequest): Promise<MessageInit<m.Empty>> {
    const task = this.#task(r.id);
    const proc = this.#proc(r.id, r.execId);
    if (r.execId !== "" && !proc.started && proc.exit === undefined) {
      throw new TtrpcError(Code.FAILED_PRECONDITION, `process ${r.execId} not created`);
    }
    if (proc.exit !== undefined) {
      throw new TtrpcError(Code.NOT_FOUND, "process already finished");
    }
    if (r.execId === "" && task.hosted !== undefined) {
      task.hosted.kill(r.signal);
      return {};
    }
    if (r.execId !== "") {
      if (sc.kill(proc.pid, r.signal) === sc.Errno.ESRCH) {
        throw new TtrpcError(Code.NOT_FOUND, "process already finished");
      }
      return {};
    }
    try {
      await killContainer(this.#d.root, task.id, r.signal, r.all);
    } catch (err) {
      if (err instanceof InvalidState) {
        throw new TtrpcError(Code.NOT_FOUND, "process already finished");
      }
      throw err;
    }
    return {};
  }

  exec(r: m.ExecProcessRequest): Promise<MessageInit<m.Empty>> {
    const task = this.#task(r.id);
    this.#notHosted(task, "exec in");
    if (task.execs.has(r.execId)) {
      throw new TtrpcError(Code.ALREADY_EXISTS, `exec ${r.execId} already exists`);
    }
    if (r.execId === "" || r.execId.length > 1024) {
      throw new TtrpcError(Code.INVALID_ARGUMENT, "an exec needs an id");
    }
    if (task.init.exit !== undefined) {
      throw new TtrpcError(Code.FAILED_PRECONDITION, `task ${r.id} has stopped`);
    }
    const spec = parseProcess(this.#json(r.spec, EXEC_SPEC_URL, "exec process"), "exec process");
    const proc = newProc(r.execId, {
      stdin: r.stdin,
      stdout: r.stdout,
      stderr: r.stderr,
      terminal: r.terminal,
    });
    proc.spec = { ...spec, terminal: r.terminal };
    task.execs.set(r.execId, proc);
    this.#d.publisher.publish("TaskExecAdded", { containerId: r.id, execId: r.execId });
    return Promise.resolve({});
  }

  /** The JSON text an Any of containerd's runtime-spec types carries. */
  #json(any: m.Any | undefined, url: string, what: string): string {
    if (any === undefined) throw new TtrpcError(Code.INVALID_ARGUMENT, `no ${what} given`);
    if (any.typeUrl !== url) {
      throw new TtrpcError(
        Code.INVALID_ARGUMENT,
        `${what}: unexpected type ${any.typeUrl.slice(0, 100)}`,
      );
    }
    return new TextDecoder().decode(any.value);
  }

  resize(r: m.ResizePtyRequest): Promise<MessageInit<m.Empty>> {
    this.#proc(r.id, r.execId).stdio?.resize(r.width, r.height);
    return Promise.resolve({});
  }

  closeIO(r: m.CloseIORequest): Promise<MessageInit<m.Empty>> {
    const proc = this.#proc(r.id, r.execId);
    if (r.stdin) proc.stdio?.closeStdin();
    return Promise.resolve({});
  }

  update(r: m.UpdateTaskRequest): Promise<MessageInit<m.Empty>> {
    this.#notHosted(this.#task(r.id), "update");
    const url = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
    const resources = parseResources(this.#json(r.resources, url, "resources"), "resources");
    updateContainer(this.#d.root, r.id, resources, this.#d.log);
    return Promise.resolve({});
  }

  async wait(r: m.WaitRequest): Promise<MessageInit<m.WaitResponse>> {
    const proc = this.#proc(r.id, r.execId);
    const exit = await proc.exited;
    return { exitStatus: exit.status, exitedAt: timestamp(exit.at) };
  }

  stats(r: m.StatsRequest): Promise<MessageInit<m.StatsResponse>> {
    // No cgroup of its own: empty metrics rather than an error for a poller (the CRI plugin).
    if (this.#task(r.id).hosted !== undefined) {
      return Promise.resolve({ stats: toAny(METRICS_TYPE_URL, m.Metrics, {}) });
    }
    return Promise.resolve({ stats: metricsOf(containerStats(this.#d.root, r.id)) });
  }

  connect(r: m.ConnectRequest): Promise<MessageInit<m.ConnectResponse>> {
    const t = this.#tasks.get(r.id);
    return Promise.resolve({
      shimPid: Deno.pid,
      taskPid: t?.init.pid ?? 0,
      version: `denki ${DENKI_VERSION}`,
    });
  }

  shutdown(r: m.ShutdownRequest): Promise<MessageInit<m.Empty>> {
    // A shim with tasks left serves them on; containerd asks again after the last Delete.
    if (this.#tasks.size === 0 || r.now) setTimeout(() => this.#d.shutdown(), 0);
    return Promise.resolve({});
  }
}
