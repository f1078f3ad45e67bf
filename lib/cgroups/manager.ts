/**
 * A container's cgroup: the v1 driver (a directory per controller hierarchy) and the v2
 * driver (one directory in the unified hierarchy) composed. A v1 host has only the first, a
 * v2 host only the second, and a hybrid host both: v1 serves the controllers it has and v2
 * the rest, as runc does. A relative path is placed per hierarchy below the caller's own
 * cgroup (see path.ts), so the same container may sit at different paths in different
 * hierarchies. What is made is kept in the container's record (record.ts).
 */
import { DenkiError } from "../errors.ts";
import type { Resources } from "../spec/config.ts";
import type { CgroupDriver, FreezerState } from "./driver.ts";
import { type CgroupIo, realIo } from "./io.ts";
import { type Layout, layoutMode } from "./layout.ts";
import type { ParentBook } from "./parents.ts";
import type { CgroupRecord } from "./record.ts";
import { routeResources } from "./route.ts";
import { CgroupTree } from "./tree.ts";
import { V1Driver } from "./v1/driver.ts";
import { V2Driver } from "./v2/driver.ts";

export type { CgroupRecord } from "./record.ts";
export type { FreezerState } from "./driver.ts";

/** A container's cgroup. */
export class Cgroup {
  /** The v1 side; also stands in (with no controllers) when there is no cgroup at all. */
  readonly #v1: V1Driver | undefined;
  readonly #v2: V2Driver | undefined;

  constructor(
    readonly rec: CgroupRecord,
    readonly io: CgroupIo = realIo,
    readonly book?: ParentBook,
  ) {
    this.#v2 = rec.v2 === undefined ? undefined : new V2Driver(rec, io);
    this.#v1 = Object.keys(rec.v1).length > 0 || this.#v2 === undefined
      ? new V1Driver(rec, io)
      : undefined;
  }

  /** The drivers, v1 first: the order in which they are asked. */
  get drivers(): CgroupDriver[] {
    return [this.#v1, this.#v2].filter((d) => d !== undefined);
  }

  /**
   * Makes the cgroup directories on every hierarchy (v1 controllers, then unified). A cgroup
   * that already has processes belongs to someone else and is refused, as runc does.
   */
  static create(layout: Layout, path: string, io: CgroupIo = realIo, book?: ParentBook): Cgroup {
    const rec: CgroupRecord = { path, mounts: {}, v1: {}, v2Controllers: [], created: [] };
    const tree = new CgroupTree(rec, io);
    try {
      const shown = V1Driver.make(tree, layout.v1, path);
      if (layout.unified) {
        const hybrid = layoutMode(layout) === "hybrid";
        shown.push(V2Driver.make(tree, layout.unified, path, hybrid));
      }
      if (rec.v2 === undefined && Object.keys(rec.v1).length === 0) {
        throw new DenkiError(
          "no cgroup hierarchy is mounted on this host (see /proc/self/mountinfo)",
        );
      }
      rec.path = shown[0]!;
      const cg = new Cgroup(rec, io, book);
      const procs = cg.pids();
      if (procs.length > 0) {
        throw new DenkiError(
          `cgroup ${rec.path} is not empty: ${procs.length} process(es) in it (another container's?)`,
        );
      }
      const leaves = cg.dirs();
      book?.add(rec.created.filter((d) => !leaves.includes(d)));
      return cg;
    } catch (err) {
      // Only what this call made: the directories of a cgroup in use stay as they were.
      for (const dir of [...rec.created].reverse()) io.rmdir(dir);
      throw err;
    }
  }

  /** The driver that serves `controller`: v1 where it has it, else v2. */
  #serving(controller: string): CgroupDriver | undefined {
    return this.#v1?.hasController(controller) ? this.#v1 : this.#v2;
  }

  /** Every directory of the container (one per hierarchy). */
  dirs(): string[] {
    return [...new Set(this.drivers.flatMap((d) => d.dirs()))];
  }

  /** Puts a process (all its threads) into the cgroup on every hierarchy. */
  join(pid: number): void {
    for (const d of this.drivers) d.join(pid);
  }

  /**
   * Puts a process `exec` started into the container's cgroup. Where the v2 leaf refuses
   * members, the process joins the init's own cgroup below the leaf instead (v2/driver.ts).
   */
  joinBeside(pid: number, initPid: number): void {
    for (const d of this.drivers) d.joinBeside(pid, initPid);
  }

  /** Applies resources; returns warnings for settings this kernel lacks. `devices` adds rules. */
  apply(r: Resources, opts: { devices: boolean }): string[] {
    const notes: string[] = [];
    const batches = routeResources(r, this.#v1, this.#v2, notes);
    // The devices controller where v1 has it, else v2's device program (no controller needed).
    const devices = opts.devices ? this.#serving("devices") : undefined;
    const deviceWrites = devices?.devices(r) ?? [];
    for (const [driver, writes] of batches) driver.write(writes, notes);
    if (deviceWrites.length > 0) devices!.write(deviceWrites, notes);
    return notes;
  }

  /** The freezer state of the cgroup. */
  freezerState(): FreezerState {
    return this.#serving("freezer")?.freezerState() ?? "thawed";
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
    // v2's freezer is a core file (cgroup.freeze): there whenever v2 is.
    const freezer = this.#serving("freezer");
    if (freezer === undefined) {
      throw new DenkiError("no freezer: this host has neither v1 freezer nor cgroup v2");
    }
    const want: FreezerState = on ? "frozen" : "thawed";
    const deadline = Date.now() + 10_000;
    for (let round = 0;; round++) {
      freezer.requestFrozen(on);
      if (freezer.freezerState() === want) return;
      if (Date.now() > deadline) {
        // A freeze that cannot finish (a task stuck in the kernel) must not leave the
        // container half frozen.
        if (on) freezer.requestFrozen(false);
        throw new DenkiError(`cgroup ${this.rec.path} did not become ${want} within 10 s`);
      }
      await new Promise((r) => setTimeout(r, Math.min(1 + round, 10)));
    }
  }

  /** Every process in the cgroup and its children. */
  pids(): number[] {
    return this.#v1?.pids() ?? this.#v2?.pids() ?? [];
  }

  /** How many times the kernel's OOM killer has killed a process of the cgroup. */
  oomKills(): number {
    return this.#serving("memory")?.oomKills() ?? 0;
  }

  /** Removes the container's directories (and every one denki made for it) once empty. */
  async remove(): Promise<void> {
    const tree = new CgroupTree(this.rec, this.io);
    const deadline = Date.now() + 5_000;
    for (;;) {
      const left = tree.removeDirs(this.dirs(), this.book);
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        const why = this.pids().length > 0 ? "it still has processes" : "it is busy";
        throw new DenkiError(`cannot remove cgroup ${left[0]}: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
