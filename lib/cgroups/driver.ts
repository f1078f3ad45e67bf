/**
 * What one cgroup version does for a container's cgroup, behind one interface: the v1 driver
 * (v1/driver.ts) keeps a directory per controller hierarchy, the v2 driver (v2/driver.ts) one
 * directory in the unified hierarchy. A Cgroup (manager.ts) composes them: v1 serves the
 * controllers it has and v2 the rest. Also the pieces both drivers share: carrying out one
 * resource write with its messages, and listing the processes below a directory.
 */
import { DenkiError, quote } from "../errors.ts";
import type { Resources } from "../spec/config.ts";
import { type CgroupIo, CgroupWriteError } from "./io.ts";
import type { Write } from "./resources.ts";

/** The freezer's answer for `paused` and the state command. */
export type FreezerState = "thawed" | "freezing" | "frozen";

/** One cgroup version's side of a container's cgroup. */
export interface CgroupDriver {
  /** The cgroup version this driver speaks. */
  readonly version: 1 | 2;
  /** The container's directories in this driver's hierarchies. */
  dirs(): string[];
  /** The controllers whose files are in the container's directories here. */
  controllers(): string[];
  /** True when `controller`'s files are in the container's directory here. */
  hasController(controller: string): boolean;
  /** Puts a process (all its threads) into the container's cgroup. */
  join(pid: number): void;
  /** Puts a process `exec` started into the container's cgroup, beside the init if need be. */
  joinBeside(pid: number, initPid: number): void;
  /** `linux.resources` as this version's writes, in order; throws for values it cannot take. */
  writes(r: Resources): Write[];
  /** Config fields this version has no file for (skipped with a warning). */
  unsupported(r: Resources): string[];
  /** Carries out writes in order; skipped optional settings are added to `notes`. */
  write(writes: readonly Write[], notes: string[]): void;
  /**
   * Enforces the device rules: returned as writes to make after the resources (v1's
   * devices.allow/deny), or put in place at once (v2's BPF program), returning none.
   */
  devices(r: Resources): Write[];
  /** The freezer state of the container's cgroup. */
  freezerState(): FreezerState;
  /** One request to freeze or thaw; the caller waits for the state to follow. */
  requestFrozen(on: boolean): void;
  /** Every process in the container's cgroup and its children; undefined when it cannot tell. */
  pids(): number[] | undefined;
  /** How many times the kernel's OOM killer has killed a process of the cgroup. */
  oomKills(): number;
}

export const ENOENT = 2;
export const EBUSY = 16;
export const EINVAL = 22;
const EOPNOTSUPP = 95;
const ENOTSUPP = 524;

/** A resource the kernel refused, keeping its errno for the v1 memory/swap retry. */
export class ResourceError extends DenkiError {
  constructor(message: string, readonly errno: number) {
    super(message);
  }
}

/** Why the kernel says EINVAL to a valid-looking number, by file. */
const EINVAL_HINTS: Record<string, string> = {
  // A real-time budget must fit in the parent's, and new cgroups start with none.
  "cpu.rt_runtime_us": " (the parent cgroup's cpu.rt_runtime_us must leave room for it)",
  // v1 keeps memory <= memory+swap, and a new cgroup's memory limit is unlimited.
  "memory.memsw.limit_in_bytes":
    " (memory+swap may not be below the cgroup's memory limit, unlimited unless memory.limit is set)",
};

/** Writes one resource into `dir`, naming the config field in every message. */
export function writeResource(io: CgroupIo, dir: string, write: Write, notes: string[]): void {
  const file = write.files.find((f) => io.exists(`${dir}/${f}`)) ?? write.files.at(-1)!;
  try {
    io.write(`${dir}/${file}`, write.value);
  } catch (err) {
    const errno = err instanceof CgroupWriteError ? err.errno : 0;
    if (write.optional && (errno === ENOENT || errno === EOPNOTSUPP || errno === ENOTSUPP)) {
      notes.push(`linux.resources.${write.field} ignored: this kernel has no ${file}`);
      return;
    }
    if (errno === ENOENT) {
      throw new DenkiError(
        `linux.resources.${write.field}: this kernel has no ${dir}/${file} to write ${
          quote(write.value)
        } to`,
      );
    }
    const hint = errno === EINVAL ? EINVAL_HINTS[file] ?? "" : "";
    throw new ResourceError(
      `linux.resources.${write.field}: ${(err as Error).message}${hint}`,
      errno,
    );
  }
}

/** The processes in `dir` and every cgroup below it, sorted. */
export function listPids(io: CgroupIo, dir: string): number[] {
  const out = new Set<number>();
  const walk = (d: string) => {
    for (const line of (io.read(`${d}/cgroup.procs`) ?? "").split("\n")) {
      if (/^\d+$/.test(line.trim())) out.add(Number(line.trim()));
    }
    for (const child of io.children(d)) walk(`${d}/${child}`);
  };
  walk(dir);
  return [...out].sort((a, b) => a - b);
}
