/**
 * denki's WASI preview1 host: builds the `wasi_snapshot_preview1` import object from the
 * per-area modules, sets up stdio and preopens, and runs a module's `_start`.
 */
import { ArgsEnv } from "./args_env.ts";
import { Clocks } from "./clock.ts";
import { errnoOf } from "./errno.ts";
import { FdTable } from "./fd_table.ts";
import { FdOps, type FsContext, type GuestStdio } from "./fs.ts";
export type { GuestStdio } from "./fs.ts";
import { GuestMemory } from "./memory.ts";
import type { Native } from "./native.ts";
import { dirEntry, mountRights, PathOps } from "./path.ts";
import { Poll } from "./poll.ts";
import { WASI_FUNCTIONS } from "./functions.ts";
import { ExitSignal, Proc } from "./proc.ts";
import { Sockets } from "./sockets.ts";
import { DIR_RIGHTS, FILE_RIGHTS, FT, SOCKET_RIGHTS, STREAM_RIGHTS } from "./types.ts";
import { type Mount, Vfs } from "./vfs.ts";

export { ExitSignal };

/** What a guest gets: its arguments, environment, file system and sockets. */
export interface WasiConfig {
  args: string[];
  env: string[];
  /** Host directories by guest path; "/" must be one of them. */
  mounts: Mount[];
  /** Guest paths preopened as fds 3, 4, ... (in this order). */
  preopens: string[];
  /** Host descriptors of preopened sockets, given the fds after the directories. */
  sockets?: number[];
  native?: Native | undefined;
  /** Makes a symlink where Deno's own call is not permitted (the sandbox's broker). */
  symlink?: ((target: string, link: string) => void) | undefined;
  /** What the guest's rlimits become inside the host (see executors/wasm/limits.ts). */
  limits?: HostLimits | undefined;
  /** The guest's stdio when it is not this process's fds 0-2 (a guest run in the shim). */
  stdio?: GuestStdio | undefined;
}

/** Limits the host itself enforces. */
export interface HostLimits {
  /** RLIMIT_NOFILE: descriptor numbers stop below this (EMFILE). */
  nofile?: number;
  /** RLIMIT_FSIZE: regular files grow no larger (EFBIG). */
  fsize?: number;
}

/** Functions whose i64 argument is signed (filedelta); every other bigint is a u64. */
const SIGNED_I64 = new Set(["fd_seek"]);

/** The host for one guest instance. */
export class WasiHost {
  readonly mem = new GuestMemory();
  readonly table = new FdTable();
  readonly vfs: Vfs;
  readonly #fns: Record<string, (...args: never[]) => number>;

  constructor(config: WasiConfig) {
    this.vfs = new Vfs(config.mounts);
    const ctx: FsContext = {
      mem: this.mem,
      table: this.table,
      vfs: this.vfs,
      native: config.native,
      symlink: config.symlink,
      fsize: config.limits?.fsize,
      stdio: config.stdio,
    };
    this.#setupFds(config);
    // Set after the preopens, which (like inherited descriptors) do not count against it.
    if (config.limits?.nofile !== undefined) this.table.limit = config.limits.nofile;
    const parts: object[] = [
      new ArgsEnv(this.mem, config.args, config.env),
      new Clocks(this.mem, config.native),
      new FdOps(ctx),
      new PathOps(ctx),
      new Poll(ctx),
      new Proc(),
      new Sockets(ctx),
    ];
    this.#fns = {};
    for (const name of WASI_FUNCTIONS) {
      const part = parts.find((p) => typeof (p as Record<string, unknown>)[name] === "function");
      if (part === undefined) throw new Error(`internal error: no WASI function ${name}`);
      const fn = (part as Record<string, (...a: unknown[]) => number>)[name]!.bind(part);
      this.#fns[name] = this.#wrap(name, fn);
    }
  }

  #setupFds(config: WasiConfig): void {
    const stdio = [
      ["stdin", 0],
      ["stdout", 1],
      ["stderr", 2],
    ] as const;
    for (const [kind, fd] of stdio) {
      this.table.set(fd, {
        kind,
        filetype: FT.CHARACTER_DEVICE,
        rightsBase: STREAM_RIGHTS,
        rightsInheriting: 0n,
        flags: 0,
      });
    }
    for (const name of config.preopens) {
      const r = this.vfs.resolve("/", name === "/" ? "." : name.replace(/^\/+/, ""), true);
      if (r.stat === undefined || !r.stat.isDirectory) {
        throw new Error(`preopen ${name}: not a directory`);
      }
      this.table.add({
        ...dirEntry(
          r,
          mountRights(DIR_RIGHTS, this.vfs, r),
          mountRights(DIR_RIGHTS | FILE_RIGHTS, this.vfs, r),
          0,
        ),
        preopen: name,
      });
    }
    for (const socket of config.sockets ?? []) {
      this.table.add({
        kind: "socket",
        filetype: FT.SOCKET_STREAM,
        rightsBase: SOCKET_RIGHTS,
        rightsInheriting: 0n,
        flags: 0,
        socket,
        preopen: `socket:${socket}`,
      });
    }
  }

  /** Converts arguments (u32 and u64 views of Wasm i32/i64) and errors (to errno values). */
  #wrap(name: string, fn: (...a: unknown[]) => number): (...args: never[]) => number {
    const signed = SIGNED_I64.has(name);
    return (...raw: unknown[]) => {
      const args = raw.map((a) =>
        typeof a === "number"
          ? a >>> 0
          : typeof a === "bigint"
          ? (signed ? BigInt.asIntN(64, a) : BigInt.asUintN(64, a))
          : a
      );
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof ExitSignal || err instanceof WebAssembly.RuntimeError) throw err;
        return errnoOf(err);
      }
    };
  }

  /** The import object for instantiation. */
  imports(): WebAssembly.Imports {
    return { wasi_snapshot_preview1: this.#fns as unknown as WebAssembly.ModuleImports };
  }

  /** Runs `_start`; returns the exit status (0 when it returns, proc_exit's value otherwise). */
  start(instance: WebAssembly.Instance): number {
    const memory = instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error("the module exports no memory");
    this.mem.bind(memory);
    const start = instance.exports._start;
    if (typeof start !== "function") throw new Error("the module exports no _start function");
    try {
      (start as () => void)();
      return 0;
    } catch (err) {
      if (err instanceof ExitSignal) return err.code;
      throw err;
    }
  }
}
