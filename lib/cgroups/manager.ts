/**
 * A container's cgroup: made on every v1 hierarchy and/or in the unified hierarchy, the init
 * placed in it, the resources written, frozen and thawed, its processes listed and signalled,
 * and removed with every directory denki made for it. v1 serves the controllers it has and v2
 * the rest, as runc does on a hybrid host. A relative path is placed per hierarchy below the
 * caller's own cgroup (see path.ts), so the same container may sit at different paths in
 * different hierarchies. What is made is kept in the container's record.
 */
import { DenkiError, quote, SyscallError } from "../errors.ts";
import { placeCgroup, type Placement } from "./path.ts";
import type { Resources } from "../spec/config.ts";
import { type CgroupIo, CgroupWriteError, realIo } from "./io.ts";
import { type Hierarchy, type Layout, layoutMode } from "./layout.ts";
import type { ParentBook } from "./parents.ts";
import { devicesProgram } from "../plan/bpf_devices.ts";
import { attachDeviceProgram, loadDeviceProgram } from "../sys/bpf.ts";
import * as sc from "../sys/syscalls.ts";
import { deviceRules } from "./devices.ts";
import type { Write } from "./resources.ts";
import { v1DeviceWrites, v1Writes } from "./v1/resources.ts";
import { v2Unsupported, v2Writes } from "./v2/resources.ts";

/** What is kept in state.json about a container's cgroup. */
export interface CgroupRecord {
  /**
   * The container's cgroup path, for messages: the one in the memory hierarchy (or the first
   * one made). Records written before `mounts` existed used this path in every hierarchy.
   */
  path: string;
  /** Each directory of the container (v1 and v2) to the mount point of its hierarchy. */
  mounts?: Record<string, string>;
  /** v1 controller to the container's directory in that hierarchy. */
  v1: Record<string, string>;
  /** The container's directory in the unified hierarchy. */
  v2?: string;
  /** Controllers handled through v2 (those the unified root offers and v1 does not have). */
  v2Controllers: string[];
  /** Directories denki made, parents before children. */
  created: string[];
}

const ENOENT = 2;
const EBUSY = 16;
const EINVAL = 22;
const EOPNOTSUPP = 95;
const ENOTSUPP = 524;

/** The freezer's answer for `paused` and the state command. */
export type FreezerState = "thawed" | "freezing" | "frozen";

/** A container's cgroup. */
export class Cgroup {
  constructor(
    readonly rec: CgroupRecord,
    readonly io: CgroupIo = realIo,
    readonly book?: ParentBook,
  ) {}

  /**
   * Makes the cgroup directories on every hierarchy (v1 controllers, then unified). A cgroup
   * that already has processes belongs to someone else and is refused, as runc does.
   */
  static create(layout: Layout, path: string, io: CgroupIo = realIo, book?: ParentBook): Cgroup {
    const rec: CgroupRecord = { path, mounts: {}, v1: {}, v2Controllers: [], created: [] };
    const cg = new Cgroup(rec, io, book);
    const shown: string[] = [];
    try {
      const made = new Map<string, string>();
      // Named hierarchies (name=systemd) too: they limit nothing, but the container's
      // cgroup namespace and /sys/fs/cgroup then show its own place in them, not the host's.
      for (const [controller, h] of layout.v1) {
        // Controllers mounted together (cpu,cpuacct) share one directory.
        let dir = made.get(h.mount);
        if (dir === undefined) {
          const placed = placeCgroup(path, "v1", h.own);
          dir = cg.#mkdirs(h, placed, controller === "cpuset");
          made.set(h.mount, dir);
          if (controller === "memory") shown.unshift(placed);
          else shown.push(placed);
        }
        rec.v1[controller] = dir;
      }
      if (layout.unified) {
        const how: Placement = layoutMode(layout) === "hybrid" ? "hybrid-unified" : "unified";
        const placed = placeCgroup(path, how, layout.unified.own);
        rec.v2 = cg.#mkdirs(layout.unified, placed, false);
        rec.v2Controllers = [...layout.unified.controllers].filter((c) => !(c in rec.v1)).sort();
        shown.push(placed);
      }
      if (rec.v2 === undefined && Object.keys(rec.v1).length === 0) {
        throw new DenkiError(
          "no cgroup hierarchy is mounted on this host (see /proc/self/mountinfo)",
        );
      }
      rec.path = shown[0]!;
      const procs = cg.pids();
      if (procs.length > 0) {
        throw new DenkiError(
          `cgroup ${rec.path} is not empty: ${procs.length} process(es) in it (another container's?)`,
        );
      }
      const leaves = cg.dirs();
      book?.add(rec.created.filter((d) => !leaves.includes(d)));
    } catch (err) {
      // Only what this call made: the directories of a cgroup in use stay as they were.
      for (const dir of [...rec.created].reverse()) io.rmdir(dir);
      throw err;
    }
    return cg;
  }

  /** Makes `path` in a hierarchy, one level at a time, returning the leaf. */
  #mkdirs(h: Hierarchy, path: string, cpuset: boolean): string {
    const { mount, root } = h;
    // Seen through a cgroup namespace, the mount shows `root`; paths are taken below it.
    const rel = root !== "/" && path.startsWith(`${root}/`) ? path.slice(root.length) : path;
    // Another container's delete may remove a shared parent between two of these mkdirs.
    for (let attempt = 0;; attempt++) {
      try {
        const leaf = this.#mkdirChain(mount, rel, cpuset);
        this.rec.mounts![leaf] = mount;
        return leaf;
      } catch (err) {
        if (attempt >= 3 || !(err instanceof SyscallError) || err.errno !== ENOENT) {
          throw new DenkiError(`cannot create cgroup ${mount}${rel}: ${(err as Error).message}`);
        }
      }
    }
  }

  #mkdirChain(mount: string, rel: string, cpuset: boolean): string {
    let dir = mount;
    for (const part of rel.split("/").filter((p) => p !== "")) {
      const parent = dir;
      dir = `${dir}/${part}`;
      // Parents another container made are shared through the book (parents.ts).
      if (this.io.mkdir(dir) && !this.rec.created.includes(dir)) this.rec.created.push(dir);
      // A new v1 cpuset starts with no CPUs and no memory nodes; nothing can join it until
      // it gets its parent's.
      if (cpuset) {
        for (const file of ["cpuset.cpus", "cpuset.mems"]) {
          if ((this.io.read(`${dir}/${file}`) ?? "").trim() === "") {
            this.io.write(`${dir}/${file}`, (this.io.read(`${parent}/${file}`) ?? "").trim());
          }
        }
      }
    }
    return dir;
  }

  /** Every directory of the container (one per hierarchy). */
  dirs(): string[] {
    const dirs = new Set(Object.values(this.rec.v1));
    if (this.rec.v2 !== undefined) dirs.add(this.rec.v2);
    return [...dirs];
  }

  /** Puts a process (all its threads) into the cgroup on every hierarchy. */
  join(pid: number): void {
    for (const dir of this.dirs()) this.io.write(`${dir}/cgroup.procs`, String(pid));
  }

  /**
   * Puts a process `exec` started into the container's cgroup. Where the v2 leaf refuses
   * members (EBUSY: it delegates controllers to children, as systemd or a nested runtime in
   * the container set up), the process joins the init's own cgroup below the leaf instead,
   * as runc does.
   */
  joinBeside(pid: number, initPid: number): void {
    for (const dir of this.dirs()) {
      try {
        this.io.write(`${dir}/cgroup.procs`, String(pid));
      } catch (err) {
        if (!(err instanceof CgroupWriteError && err.errno === EBUSY) || dir !== this.rec.v2) {
          throw err;
        }
        const line = (this.io.read(`/proc/${initPid}/cgroup`) ?? "").split("\n")
          .find((l) => l.startsWith("0::"));
        const mount = this.#mountOf(dir) ?? "";
        const target = line === undefined ? "" : `${mount}${line.slice(3)}`;
        if (!target.startsWith(`${dir}/`)) throw err;
        this.io.write(`${target}/cgroup.procs`, String(pid));
      }
    }
  }

  /** Applies resources; returns warnings for settings this kernel lacks. `devices` adds rules. */
  apply(r: Resources, opts: { devices: boolean }): string[] {
    const notes: string[] = [];
    const writes = this.#plan(r, notes);
    if (opts.devices && "devices" in this.rec.v1) writes.push(...v1DeviceWrites(r));
    else if (opts.devices && this.rec.v2 !== undefined) this.#attachDeviceFilter(r);
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
    return notes;
  }

  /** cgroup v2 has no devices files: a BPF program attached to the cgroup decides instead. */
  #attachDeviceFilter(r: Resources): void {
    const program = devicesProgram(deviceRules(r));
    const dir = this.rec.v2!;
    const cgroupFd = sc.open(dir, sc.O_RDONLY | sc.O_DIRECTORY | sc.O_CLOEXEC);
    try {
      const progFd = loadDeviceProgram(program);
      try {
        // The attachment lives as long as the cgroup; the fd is not needed after this.
        attachDeviceProgram(cgroupFd, progFd);
      } finally {
        sc.close(progFd);
      }
    } catch (err) {
      throw new DenkiError(`cannot attach the device filter to ${dir}: ${(err as Error).message}`);
    } finally {
      sc.close(cgroupFd);
    }
  }

  /** Splits the resources between v1 controllers and v2, refusing what neither has. */
  #plan(r: Resources, notes: string[]): Write[] {
    const v1 = this.rec.v1;
    const v2 = new Set(this.rec.v2Controllers);
    const out: Write[] = [];
    const v2Fields = new Set<string>();
    if (this.rec.v2 !== undefined && (v2.size > 0 || Object.keys(v1).length === 0)) {
      for (const write of v2Writes(r)) {
        if (write.controller in v1) {
          if (write.field.startsWith("unified.")) {
            throw new DenkiError(
              `linux.resources.${write.field}: the ${write.controller} controller is on cgroup v1 here, so it has no v2 files`,
            );
          }
          continue;
        }
        if (v2.has(write.controller) || write.controller === "cgroup") {
          out.push(write);
          v2Fields.add(write.field);
        } else if (Object.keys(v1).length === 0) {
          throw missing(write);
        }
      }
      if (Object.keys(v1).length === 0) {
        for (const f of v2Unsupported(r)) {
          notes.push(`linux.resources.${f} ignored: cgroup v2 has no such setting`);
        }
        return out;
      }
    } else if ((Object.keys(r.unified ?? {})).length > 0) {
      throw new DenkiError(
        "linux.resources.unified needs cgroup v2, which this host does not have",
      );
    }
    const v1Out: Write[] = [];
    for (const write of v1Writes(r)) {
      if (write.controller in v1) v1Out.push(write);
      else if (!v2Fields.has(write.field)) throw missing(write);
    }
    return [...v1Out, ...out];
  }

  /** Where a controller's files live. */
  #dirOf(controller: string): string {
    const dir = this.rec.v1[controller] ?? this.rec.v2;
    if (dir === undefined) {
      throw new DenkiError(`the ${controller} cgroup controller is not available`);
    }
    return dir;
  }

  #write(write: Write, notes: string[]): void {
    const dir = this.#dirOf(write.controller);
    if (!(write.controller in this.rec.v1) && write.controller !== "cgroup") {
      this.#enableV2(write.controller);
    }
    const file = write.files.find((f) => this.io.exists(`${dir}/${f}`)) ?? write.files.at(-1)!;
    try {
      this.io.write(`${dir}/${file}`, write.value);
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
      // A real-time budget must fit in the parent's, and new cgroups start with none.
      const hint = file === "cpu.rt_runtime_us" && errno === EINVAL
        ? ` (the parent cgroup's cpu.rt_runtime_us must leave room for it)`
        : "";
      throw new ResourceError(
        `linux.resources.${write.field}: ${(err as Error).message}${hint}`,
        errno,
      );
    }
  }

  /** Turns a v2 controller on in every ancestor's subtree_control, so the leaf has its files. */
  #enableV2(controller: string): void {
    const leaf = this.rec.v2!;
    const have = (this.io.read(`${leaf}/cgroup.controllers`) ?? "").split(/\s+/);
    if (have.includes(controller)) return;
    const mount = this.#mountOf(leaf) ?? leaf;
    let dir = mount;
    for (const part of leaf.slice(mount.length).split("/").filter((p) => p !== "")) {
      this.io.write(`${dir}/cgroup.subtree_control`, `+${controller}`);
      dir = `${dir}/${part}`;
    }
  }

  /** The mount point of the hierarchy a container directory is in. */
  #mountOf(dir: string): string | undefined {
    const mount = this.rec.mounts?.[dir];
    if (mount !== undefined) return mount;
    // Older records: the same path in every hierarchy.
    return dir.endsWith(this.rec.path)
      ? dir.slice(0, dir.length - this.rec.path.length)
      : undefined;
  }

  /** The freezer state of the cgroup. */
  freezerState(): FreezerState {
    const v1 = this.rec.v1.freezer;
    if (v1 !== undefined) {
      const s = (this.io.read(`${v1}/freezer.state`) ?? "").trim();
      return s === "FROZEN" ? "frozen" : s === "FREEZING" ? "freezing" : "thawed";
    }
    if (this.rec.v2 === undefined) return "thawed";
    if ((this.io.read(`${this.rec.v2}/cgroup.freeze`) ?? "0").trim() !== "1") return "thawed";
    const events = this.io.read(`${this.rec.v2}/cgroup.events`) ?? "";
    return /^frozen 1$/m.test(events) ? "frozen" : "freezing";
  }

  /** Freezes every process of the cgroup, waiting until the kernel says they all are. */
  async freeze(): Promise<void> {
    await this.#setFrozen(true);
  }

  /** Thaws the cgroup. */
  async thaw(): Promise<void> {
    await this.#setFrozen(false);
  }

  async #setFrozen(on: boolean): Promise<void> {
    const v1 = this.rec.v1.freezer;
    const [file, value] = v1 !== undefined
      ? [`${v1}/freezer.state`, on ? "FROZEN" : "THAWED"]
      : this.rec.v2 !== undefined
      ? [`${this.rec.v2}/cgroup.freeze`, on ? "1" : "0"]
      : [undefined, ""];
    if (file === undefined) {
      throw new DenkiError("no freezer: this host has neither v1 freezer nor cgroup v2");
    }
    const want: FreezerState = on ? "frozen" : "thawed";
    const deadline = Date.now() + 10_000;
    for (let round = 0;; round++) {
      this.io.write(file, value);
      if (this.freezerState() === want) return;
      if (Date.now() > deadline) {
        // A freeze that cannot finish (a task stuck in the kernel) must not leave the
        // container half frozen.
        if (on) this.io.write(file, v1 !== undefined ? "THAWED" : "0");
        throw new DenkiError(`cgroup ${this.rec.path} did not become ${want} within 10 s`);
      }
      await new Promise((r) => setTimeout(r, Math.min(1 + round, 10)));
    }
  }

  /** Every process in the cgroup and its children. */
  pids(): number[] {
    const dir = ["pids", "freezer", "memory", "cpu", "devices", "blkio", "cpuset"]
      .map((c) => this.rec.v1[c]).find((d) => d !== undefined) ?? this.rec.v2;
    if (dir === undefined) return [];
    const out = new Set<number>();
    const walk = (d: string) => {
      for (const line of (this.io.read(`${d}/cgroup.procs`) ?? "").split("\n")) {
        if (/^\d+$/.test(line.trim())) out.add(Number(line.trim()));
      }
      for (const child of this.io.children(d)) walk(`${d}/${child}`);
    };
    walk(dir);
    return [...out].sort((a, b) => a - b);
  }

  /** How many times the kernel's OOM killer has killed a process of the cgroup. */
  oomKills(): number {
    const v1 = this.rec.v1.memory;
    const text = v1 !== undefined
      ? this.io.read(`${v1}/memory.oom_control`)
      : this.rec.v2 !== undefined
      ? this.io.read(`${this.rec.v2}/memory.events`)
      : undefined;
    const m = /^oom_kill (\d+)$/m.exec(text ?? "");
    return m ? Number(m[1]) : 0;
  }

  /** Removes the container's directories (and every one denki made for it) once empty. */
  async remove(): Promise<void> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const left = this.#removeDirs();
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        const why = this.pids().length > 0 ? "it still has processes" : "it is busy";
        throw new DenkiError(`cannot remove cgroup ${left[0]}: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** rmdir leaf first, then the parents denki made (this or another container); returns the busy ones. */
  #removeDirs(): string[] {
    const busy: string[] = [];
    const leaves = this.dirs();
    const ancestors = leaves.flatMap((leaf) => this.#ancestors(leaf));
    const recorded = this.book?.claimed(ancestors) ?? [];
    // Cgroups the container made inside its own (a nested runtime, systemd) go first.
    const nested = leaves.flatMap((leaf) => this.#descendants(leaf));
    for (const dir of nested.sort((a, b) => b.split("/").length - a.split("/").length)) {
      this.io.rmdir(dir);
    }
    const order = [...new Set([...leaves, ...this.rec.created, ...recorded])];
    // Deepest first, so parents are empty by the time they come up.
    order.sort((a, b) => b.split("/").length - a.split("/").length);
    const gone: string[] = [];
    for (const dir of order) {
      const errno = this.io.rmdir(dir);
      if (errno === 0 || errno === ENOENT) {
        if (!leaves.includes(dir)) gone.push(dir);
        continue;
      }
      // A parent another container still uses is left to the last one out.
      if (!leaves.includes(dir)) continue;
      if (errno === EBUSY) busy.push(dir);
      else throw new DenkiError(`cannot remove cgroup ${dir}: errno ${errno}`);
    }
    this.book?.drop(gone);
    return busy;
  }

  /** Every cgroup below `dir`. */
  #descendants(dir: string): string[] {
    return this.io.children(dir).flatMap((
      c,
    ) => [`${dir}/${c}`, ...this.#descendants(`${dir}/${c}`)]);
  }

  /** The directories between a leaf and its hierarchy's mount point. */
  #ancestors(leaf: string): string[] {
    const mount = this.#mountOf(leaf);
    if (mount === undefined) return [];
    const parts = leaf.slice(mount.length).split("/").filter((p) => p !== "");
    const out: string[] = [];
    for (let i = 1; i < parts.length; i++) out.push(`${mount}/${parts.slice(0, i).join("/")}`);
    return out;
  }
}

/** A resource the kernel refused, keeping its errno for the memory/swap retry. */
class ResourceError extends DenkiError {
  constructor(message: string, readonly errno: number) {
    super(message);
  }
}

function missing(write: Write): DenkiError {
  return new DenkiError(
    `linux.resources.${write.field}: the ${write.controller} cgroup controller is not available on this host`,
  );
}
