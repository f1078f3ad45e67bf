/**
 * The Wasm executor: the workload is a WASI preview1 module run by denki's own host in a
 * Worker. In a rootful container it runs inside the container (namespaces, root, user,
 * capabilities already applied) in place of execve; in the rootless sandbox it runs with the
 * container root and bind mounts mapped from host paths, confined by the WASI host and by
 * the Worker's Deno permissions (exactly those directories; no env, net, run, ffi, sys).
 */
import { DenkiError } from "../../lib/errors.ts";
import { resolve } from "../../lib/paths.ts";
import type { Spec } from "../../lib/spec/config.ts";
import { S_IFSOCK } from "../../lib/plan/abi.ts";
import * as sc from "../../lib/sys/syscalls.ts";
import { type ExecContext, type Executor, specEnv } from "../../lib/executor.ts";
import { checkModule, hasWasmMagic, modulePath, wantsWasm } from "./module.ts";
import { brokerChannel } from "./broker.ts";
import {
  applyProcessLimits,
  type GuestLimits,
  guestLimits,
  prepareProcessLimits,
} from "./limits.ts";
import { guestPermissions, runInWorker } from "./runner.ts";
import type { Mount } from "./wasi/vfs.ts";
import { workerSource } from "./worker_source.ts";
import { hostedRun } from "./hosted.ts";

let source: string | undefined;
let compiled: WebAssembly.Module | undefined;
let limits: GuestLimits | undefined;

/** A host directory by its canonical path (the WASI host walks from it refusing symlinks). */
function canonical(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/** The guest's file system: the root, and the mounts the config makes read-only or binds. */
export function guestMounts(spec: Spec, ctx: ExecContext): Mount[] {
  const root = ctx.sandbox ? canonical(ctx.root) : ctx.root;
  const mounts: Mount[] = [{ guest: "/", host: root, readonly: spec.root?.readonly === true }];
  for (const m of spec.mounts ?? []) {
    const opts = m.options ?? [];
    const dest = m.destination.startsWith("/") ? m.destination : `/${m.destination}`;
    const ro = opts.includes("ro");
    const bind = opts.includes("bind") || opts.includes("rbind") || m.type === "bind";
    if (!ctx.sandbox) {
      // Mounted for real: listed so the host knows which parts of the tree are read-only.
      mounts.push({ guest: dest, host: dest, readonly: ro });
    } else if (bind && m.source) {
      // No mounts without privileges: a bind is mapped by the WASI host instead.
      // Canonical, so the Worker's permissions name the directories the host walks from.
      mounts.push({ guest: dest, host: canonical(resolve(ctx.bundle, m.source)), readonly: ro });
    }
  }
  return mounts;
}

/** Host descriptors among the preserved fds that are sockets (given to the guest). */
function preservedSockets(count: number): number[] {
  const out: number[] = [];
  for (let fd = 3; fd < 3 + count; fd++) {
    if (sc.fileType(fd, "", sc.AT_EMPTY_PATH) === S_IFSOCK) out.push(fd);
  }
  return out;
}

/** The Wasm executor. */
export const wasmExecutor: Executor = {
  name: "wasm",
  inProcess: true,
  // The WASI host and the Worker's permissions confine the guest: no root, no namespaces.
  ownSandbox: true,
  canHandle(spec, rootfs) {
    if (wantsWasm(spec)) return true;
    const p = modulePath(spec, rootfs);
    return p !== undefined && hasWasmMagic(p);
  },
  prepare(spec) {
    source = workerSource();
    // Raising a hard limit may need CAP_SYS_RESOURCE: done while the init still has it, and
    // so that a refusal fails `create` (the soft limits bind only at the last step).
    limits = guestLimits(spec);
    prepareProcessLimits(limits);
  },
  validate(spec, root) {
    const name = spec.process?.args?.[0] ?? "";
    const p = modulePath(spec, root);
    if (p === undefined) {
      throw new DenkiError(`wasm module ${JSON.stringify(name)} not found in the container`);
    }
    // process.rlimits are mapped onto the guest, never set on this process as they are (see
    // limits.ts); the memory cap is built into the module here.
    limits ??= guestLimits(spec);
    compiled = checkModule(p, name, limits.memory);
  },
  handleEnvs: specEnv,
  hosted: (spec, ctx) => Promise.resolve().then(() => hostedRun(spec, ctx)),
  exec(spec, env, ctx) {
    if (source === undefined || compiled === undefined || limits === undefined) {
      throw new Error("internal error: the Wasm executor ran before prepare and validate");
    }
    const mounts = guestMounts(spec, ctx);
    const job = {
      module: compiled,
      args: [...(spec.process?.args ?? [])],
      env,
      mounts,
      // One preopen, the root. Preview1 has no working directory: wasi-libc resolves
      // relative paths from "/" (a "." preopen would also capture absolute paths).
      preopens: ["/"],
      sockets: ctx.sandbox ? [] : preservedSockets(ctx.preserveFds),
      // Without full permissions, Deno cannot make symlinks: this thread does it for the guest.
      ...(ctx.sandbox ? { broker: brokerChannel() } : {}),
      limits: {
        ...(limits.nofile !== undefined ? { nofile: limits.nofile } : {}),
        ...(limits.fsize !== undefined ? { fsize: limits.fsize } : {}),
      },
    };
    // The limits that apply to the whole process, then the filter (the guest runs in this
    // process, so nothing else may follow it but the Worker), then `start` learns the
    // workload runs as the fifo closes.
    applyProcessLimits(limits);
    return runInWorker(source, job, guestPermissions(mounts, ctx.sandbox), () => {
      ctx.final?.lockDown();
      ctx.release();
      if (ctx.startFd !== undefined) sc.close(ctx.startFd);
    });
  },
};
