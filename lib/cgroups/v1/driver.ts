/**
 * The cgroup v1 driver: one directory per controller hierarchy (controllers mounted together,
 * such as cpu,cpuacct, share one), named hierarchies such as name=systemd included. Limits go
 * to each controller's own files with the OCI spec's numbers as they are; device rules to
 * devices.deny/devices.allow; the freezer is freezer.state.
 */
import { DenkiError } from "../../errors.ts";
import type { Resources } from "../../spec/config.ts";
import {
  type CgroupDriver,
  EINVAL,
  type FreezerState,
  listPids,
  ResourceError,
  writeResource,
} from "../driver.ts";
import type { CgroupIo } from "../io.ts";
import type { Hierarchy } from "../layout.ts";
import { placeCgroup } from "../path.ts";
import type { CgroupRecord } from "../record.ts";
import type { Write } from "../resources.ts";
import type { CgroupTree } from "../tree.ts";
import { v1DeviceWrites, v1Writes } from "./resources.ts";

/** The hierarchies whose processes `pids` lists, in order of preference. */
const PIDS_FROM = ["pids", "freezer", "memory", "cpu", "devices", "blkio", "cpuset"];

/** A container's cgroup in the v1 hierarchies (the `v1` part of its record). */
export class V1Driver implements CgroupDriver {
  readonly version = 1;

  constructor(readonly rec: CgroupRecord, readonly io: CgroupIo) {}

  /**
   * Makes the container's directory in every v1 hierarchy, filling `rec.v1`. Returns the
   * paths placed, the memory hierarchy's first (it names the cgroup in messages).
   */
  static make(
    tree: CgroupTree,
    hierarchies: ReadonlyMap<string, Hierarchy>,
    path: string,
  ): string[] {
    const shown: string[] = [];
    const made = new Map<string, string>();
    // Named hierarchies (name=systemd) too: they limit nothing, but the container's
    // cgroup namespace and /sys/fs/cgroup then show its own place in them, not the host's.
    for (const [controller, h] of hierarchies) {
      // Controllers mounted together (cpu,cpuacct) share one directory.
      let dir = made.get(h.mount);
      if (dir === undefined) {
        const placed = placeCgroup(path, "v1", h.own);
        const seed = controller === "cpuset" ? seedCpuset(tree.io) : undefined;
        dir = tree.mkdirs(h, placed, seed);
        made.set(h.mount, dir);
        if (controller === "memory") shown.unshift(placed);
        else shown.push(placed);
      }
      tree.rec.v1[controller] = dir;
    }
    return shown;
  }

  dirs(): string[] {
    return [...new Set(Object.values(this.rec.v1))];
  }

  /** The controllers of the v1 hierarchies (named ones such as name=systemd have none). */
  controllers(): string[] {
    return Object.keys(this.rec.v1).filter((c) => !c.startsWith("name="));
  }

  hasController(controller: string): boolean {
    return Object.hasOwn(this.rec.v1, controller);
  }

  join(pid: number): void {
    for (const dir of this.dirs()) this.io.write(`${dir}/cgroup.procs`, String(pid));
  }

  /** v1 leaves take members whatever they hold: the same as `join`. */
  joinBeside(pid: number): void {
    this.join(pid);
  }

  writes(r: Resources): Write[] {
    return v1Writes(r);
  }

  /** v1 has a file for every setting of the spec. */
  unsupported(): string[] {
    return [];
  }

  write(writes: readonly Write[], notes: string[]): void {
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      try {
        this.#write(write, notes);
      } catch (err) {
        // memory+swap must stay >= memory: when raising both, swap has to go first.
        const next = writes[i + 1];
        if (
          err instanceof ResourceError && err.errno === EINVAL &&
          write.files[0] === "memory.limit_in_bytes" &&
          next?.files[0] === "memory.memsw.limit_in_bytes"
        ) {
          this.#write(next, notes);
          this.#write(write, notes);
          i++;
          continue;
        }
        throw err;
      }
    }
  }

  #write(write: Write, notes: string[]): void {
    writeResource(this.io, this.#dirOf(write.controller), write, notes);
  }

  /** Deny all, then each rule, as devices.deny/devices.allow lines. */
  devices(r: Resources): Write[] {
    return v1DeviceWrites(r);
  }

  freezerState(): FreezerState {
    const dir = this.rec.v1.freezer;
    if (dir === undefined) return "thawed";
    const s = (this.io.read(`${dir}/freezer.state`) ?? "").trim();
    return s === "FROZEN" ? "frozen" : s === "FREEZING" ? "freezing" : "thawed";
  }

  requestFrozen(on: boolean): void {
    this.io.write(`${this.#dirOf("freezer")}/freezer.state`, on ? "FROZEN" : "THAWED");
  }

  /** Read in the first hierarchy that has one of the container's directories. */
  pids(): number[] | undefined {
    const dir = PIDS_FROM.map((c) => this.rec.v1[c]).find((d) => d !== undefined);
    return dir === undefined ? undefined : listPids(this.io, dir);
  }

  oomKills(): number {
    const dir = this.rec.v1.memory;
    const text = dir === undefined ? undefined : this.io.read(`${dir}/memory.oom_control`);
    const m = /^oom_kill (\d+)$/m.exec(text ?? "");
    return m ? Number(m[1]) : 0;
  }

  /** Where a controller's files live. */
  #dirOf(controller: string): string {
    const dir = this.hasController(controller) ? this.rec.v1[controller] : undefined;
    if (dir === undefined) {
      throw new DenkiError(`the ${controller} cgroup controller is not available`);
    }
    return dir;
  }
}

/**
 * A new v1 cpuset starts with no CPUs and no memory nodes; nothing can join it until it gets
 * its parent's.
 */
function seedCpuset(io: CgroupIo): (dir: string, parent: string) => void {
  return (dir, parent) => {
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if ((io.read(`${dir}/${file}`) ?? "").trim() === "") {
        io.write(`${dir}/${file}`, (io.read(`${parent}/${file}`) ?? "").trim());
      }
    }
  };
}
