/**
 * A Wasm guest run in the containerd shim itself: no init process, no Deno start-up per
 * container. The guest runs in a Worker of the shim with the same confinement as the rootless
 * sandbox (WASI host over exactly the container's directories, Deno permissions for those
 * and nothing else); its stdio is the shim's fds for the container, reached through the
 * parent thread (stdio_bridge.ts). Configs this cannot honour get a reason and take the
 * init route.
 */
import { DenkiError } from "../../lib/errors.ts";
import type { HostedContext, HostedRun } from "../../lib/executor.ts";
import { specEnv } from "../../lib/executor.ts";
import type { Spec } from "../../lib/spec/config.ts";
import { POLLIN, POLLOUT } from "../../lib/plan/abi.ts";
import { Errno } from "../../lib/plan/errno.ts";
import { waitFd } from "../../lib/sys/async_io.ts";
import { setNonblocking } from "../../lib/sys/pty.ts";
import * as sc from "../../lib/sys/syscalls.ts";
import { brokerChannel, type BrokerRequest, serveBroker } from "./broker.ts";
import { guestMounts } from "./executor.ts";
import { guestLimits } from "./limits.ts";
import { checkModule, modulePath } from "./module.ts";
import { guestPermissions, TRAP_STATUS } from "./runner.ts";
import {
  IN_CHUNK,
  outputWritten,
  stdinAnswer,
  stdioChannel,
  type StdioRequest,
} from "./stdio_bridge.ts";
import type { GuestJob, GuestResult } from "./worker.ts";
import { workerSource } from "./worker_source.ts";

/** What lets root pass file permission checks: without them the guest needs its own creds. */
const ROOT_FILE_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"];

/** Signals that end a guest (as in the init route), SIGKILL included. */
const FATAL = new Set([1, 2, 3, 9, 10, 12, 15]);

let source: string | undefined;

/**
 * Why the guest needs an init for this config, or undefined when the shim can run it. The
 * guest shares the shim's process, credentials and cgroup: rlimits of the whole process,
 * cgroup limits and a user other than root (or root without the capabilities that pass file
 * permissions) cannot be its own there. CPU shares are only a weight (ctr and the CRI plugin always set
 * them), and the device rules concern device nodes a WASI guest cannot open: neither needs an
 * init. A terminal needs a pty the guest's stdio bridge does not drive.
 */
export function hostedBlocker(spec: Spec): string | undefined {
  if (spec.process?.terminal) return "a terminal";
  // The shim reaches the guest's files as root: only a guest that is root in its container,
  // with the capabilities that let root pass file permissions, may have them reached so.
  const user = spec.process?.user;
  const groups = user?.additionalGids ?? [];
  if ((user?.uid ?? 0) !== 0 || (user?.gid ?? 0) !== 0 || groups.some((g) => g !== 0)) {
    return "process.user is not root (file permissions need its own credentials)";
  }
  const caps = spec.process?.capabilities?.effective ?? [];
  const missing = ROOT_FILE_CAPS.filter((c) => !caps.includes(c));
  if (missing.length > 0) {
    return `process.capabilities.effective lacks ${missing.join(", ")} (file permissions apply)`;
  }
  const process = guestLimits(spec).process.map((l) => l.type);
  if (process.length > 0) return `process.rlimits ${process.join(", ")} (the whole process's)`;
  const r = spec.linux?.resources ?? {};
  const limited = Object.keys(r).filter((k) => k !== "devices" && k !== "cpu");
  const cpu = Object.keys(r.cpu ?? {}).filter((k) => k !== "shares");
  if (cpu.length > 0) limited.push(...cpu.map((k) => `cpu.${k}`));
  if (limited.length > 0) return `linux.resources ${limited.join(", ")} (a cgroup's limits)`;
  return undefined;
}

/** Prepares the guest to run in this process; a string says why it cannot. */
export function hostedRun(spec: Spec, ctx: HostedContext): HostedRun | string {
  const blocker = hostedBlocker(spec);
  if (blocker !== undefined) return blocker;
  const name = spec.process?.args?.[0] ?? "";
  const path = modulePath(spec, ctx.rootfs);
  if (path === undefined) {
    throw new DenkiError(`wasm module ${JSON.stringify(name)} not found in the container`);
  }
  const limits = guestLimits(spec);
  const module = checkModule(path, name, limits.memory);
  const mounts = guestMounts(spec, {
    root: ctx.rootfs,
    bundle: ctx.bundle,
    sandbox: true,
    preserveFds: 0,
    release: () => {},
  });
  const channel = stdioChannel();
  const job: GuestJob = {
    module,
    args: [...(spec.process?.args ?? [])],
    env: specEnv(spec),
    mounts,
    preopens: ["/"],
    sockets: [],
    broker: brokerChannel(),
    limits: {
      ...(limits.nofile !== undefined ? { nofile: limits.nofile } : {}),
      ...(limits.fsize !== undefined ? { fsize: limits.fsize } : {}),
    },
    stdio: channel,
  };
  source ??= workerSource();
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  // Started now, so that its start-up is behind it when the container starts.
  const worker = new Worker(url, {
    type: "module",
    deno: { permissions: guestPermissions(mounts, true) },
  } as WorkerOptions);
  URL.revokeObjectURL(url);
  return new Guest(worker, job, channel, ctx.stdio, mounts.filter((m) => !m.readonly));
}

/** One guest in its Worker, and the parent's half of its stdio. */
class Guest implements HostedRun {
  readonly exited: Promise<number>;
  #done!: (status: number) => void;
  #ended = false;
  #started = false;
  /** Output writes run one after another, per guest. */
  #writing: Promise<void> = Promise.resolve();

  constructor(
    readonly worker: Worker,
    readonly job: GuestJob,
    readonly channel: SharedArrayBuffer,
    readonly stdio: readonly [number, number, number],
    readonly writable: GuestJob["mounts"],
  ) {
    this.exited = new Promise((r) => (this.#done = r));
    for (const fd of new Set(stdio)) setNonblocking(fd);
    worker.onmessage = (e: MessageEvent<GuestResult | BrokerRequest | StdioRequest>) =>
      this.#message(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      void this.#end({ type: "error", message: e.message });
    };
  }

  start(): void {
    if (this.#started || this.#ended) return;
    this.#started = true;
    this.worker.postMessage(this.job);
  }

  kill(signal: number): void {
    if (this.#ended || !FATAL.has(signal)) return;
    this.worker.terminate();
    this.#ended = true;
    // What it wrote so far still goes out.
    void this.#writing.then(() => this.#done(128 + signal));
  }

  #message(msg: GuestResult | BrokerRequest | StdioRequest): void {
    if (this.#ended) return;
    switch (msg.type) {
      case "broker":
        if (this.job.broker) serveBroker(this.job.broker, this.writable, msg);
        return;
      case "output": {
        const { fd, data } = msg;
        this.#writing = this.#writing.then(async () => {
          await writeAll(this.stdio[fd], data);
          outputWritten(this.channel, data.length);
        });
        return;
      }
      case "stdin":
        void this.#readStdin(msg.max);
        return;
      default:
        void this.#end(msg);
    }
  }

  async #readStdin(max: number): Promise<void> {
    const buf = new Uint8Array(Math.min(max, IN_CHUNK));
    for (;;) {
      const r = sc.tryRead(this.stdio[0], buf);
      if (r.n >= 0) return stdinAnswer(this.channel, buf.subarray(0, r.n));
      if (r.errno !== Errno.EAGAIN && r.errno !== Errno.EINTR) {
        return stdinAnswer(this.channel, new Uint8Array());
      }
      if (this.#ended) return;
      await waitFd(this.stdio[0], POLLIN);
    }
  }

  async #end(result: GuestResult): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.worker.terminate();
    let status: number;
    if (result.type === "exit") status = result.code & 0xff;
    else {
      const what = result.type === "trap" ? "wasm trap" : "wasm";
      this.#writing = this.#writing.then(() =>
        writeAll(this.stdio[2], new TextEncoder().encode(`denki: ${what}: ${result.message}\n`))
      );
      status = result.type === "trap" ? TRAP_STATUS : 1;
    }
    await this.#writing;
    this.#done(status);
  }
}

/** Writes all of `data` to a non-blocking fd, waiting while it is full; gives up on errors. */
async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const r = sc.attempt("write", fd, data.subarray(off), data.length - off);
    if (r.ret >= 0n) {
      off += Number(r.ret);
      continue;
    }
    if (r.errno === Errno.EINTR) continue;
    if (r.errno !== Errno.EAGAIN) return; // a reader gone for good: the output is lost
    await waitFd(fd, POLLOUT);
  }
}
