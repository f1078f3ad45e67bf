/**
 * The cgroup v2 driver: one directory in the unified hierarchy. A controller's files appear
 * in it once every ancestor lists the controller in cgroup.subtree_control; limits are the
 * OCI spec's v1 numbers converted to v2's scales (v2/resources.ts); device rules are a BPF
 * program attached to the directory; the freezer is cgroup.freeze, and cgroup.events says
 * when it has taken hold. Its core files (cgroup.*) are there without any controller.
 */
import { DenkiError } from "../../errors.ts";
import { devicesProgram } from "../../plan/bpf_devices.ts";
import type { Resources } from "../../spec/config.ts";
import { deviceRules } from "../devices.ts";
import { type CgroupDriver, EBUSY, type FreezerState, listPids, writeResource } from "../driver.ts";
import { type CgroupIo, CgroupWriteError } from "../io.ts";
import type { Hierarchy } from "../layout.ts";
import { placeCgroup } from "../path.ts";
import { type CgroupRecord, mountOf } from "../record.ts";
import type { Write } from "../resources.ts";
import type { CgroupTree } from "../tree.ts";
import { v2Unsupported, v2Writes } from "./resources.ts";

/** A container's cgroup in the unified hierarchy (the `v2` part of its record). */
export class V2Driver implements CgroupDriver {
  readonly version = 2;

  constructor(readonly rec: CgroupRecord, readonly io: CgroupIo) {}

  /**
   * Makes the container's directory in the unified hierarchy and records the controllers
   * served here: those the root offers and v1 lacks, so the v1 part is made first. On a
   * hybrid host a relative path goes to the top of the hierarchy (path.ts). Returns the path
   * placed.
   */
  static make(
    tree: CgroupTree,
    unified: Hierarchy & { controllers: ReadonlySet<string> },
    path: string,
    hybrid: boolean,
  ): string {
    const rec = tree.rec;
    const placed = placeCgroup(path, hybrid ? "hybrid-unified" : "unified", unified.own);
    rec.v2 = tree.mkdirs(unified, placed);
    rec.v2Controllers = [...unified.controllers].filter((c) => !Object.hasOwn(rec.v1, c)).sort();
    return placed;
  }

  /** The container's directory. */
  get dir(): string {
    if (this.rec.v2 === undefined) throw new DenkiError("the cgroup has no cgroup v2 part");
    return this.rec.v2;
  }

  dirs(): string[] {
    return [this.dir];
  }

  controllers(): string[] {
    return [...this.rec.v2Controllers];
  }

  /** The recorded controllers, and "cgroup" for the core files every directory has. */
  hasController(controller: string): boolean {
    return controller === "cgroup" || this.rec.v2Controllers.includes(controller);
  }

  join(pid: number): void {
    this.io.write(`${this.dir}/cgroup.procs`, String(pid));
  }

  /**
   * Where the leaf refuses members (EBUSY: it delegates controllers to children, as systemd
   * or a nested runtime in the container set up), the process joins the init's own cgroup
   * below the leaf instead, as runc does; never a cgroup outside the container's.
   */
  joinBeside(pid: number, initPid: number): void {
    const dir = this.dir;
    try {
      this.io.write(`${dir}/cgroup.procs`, String(pid));
    } catch (err) {
      if (!(err instanceof CgroupWriteError && err.errno === EBUSY)) throw err;
      const line = (this.io.read(`/proc/${initPid}/cgroup`) ?? "").split("\n")
        .find((l) => l.startsWith("0::"));
      const mount = mountOf(this.rec, dir) ?? "";
      const target = line === undefined ? "" : `${mount}${line.slice(3)}`;
      if (!target.startsWith(`${dir}/`)) throw err;
      this.io.write(`${target}/cgroup.procs`, String(pid));
    }
  }

  writes(r: Resources): Write[] {
    return v2Writes(r);
  }

  unsupported(r: Resources): string[] {
    return v2Unsupported(r);
  }

  write(writes: readonly Write[], notes: string[]): void {
    for (const write of writes) {
      if (write.controller !== "cgroup") this.#enable(write.controller);
      writeResource(this.io, this.dir, write, notes);
    }
  }

  /** cgroup v2 has no devices files: a BPF program attached to the cgroup decides instead. */
  devices(r: Resources): Write[] {
    const program = devicesProgram(deviceRules(r));
    const dir = this.dir;
    if (this.io.attachDeviceProgram === undefined) {
      throw new DenkiError(`cannot attach the device filter to ${dir}: no BPF here`);
    }
    this.io.attachDeviceProgram(dir, program);
    return [];
  }

  /** cgroup.freeze asks; cgroup.events says when every process is frozen. */
  freezerState(): FreezerState {
    if ((this.io.read(`${this.dir}/cgroup.freeze`) ?? "0").trim() !== "1") return "thawed";
    const events = this.io.read(`${this.dir}/cgroup.events`) ?? "";
    return /^frozen 1$/m.test(events) ? "frozen" : "freezing";
  }

  requestFrozen(on: boolean): void {
    this.io.write(`${this.dir}/cgroup.freeze`, on ? "1" : "0");
  }

  pids(): number[] {
    return listPids(this.io, this.dir);
  }

  oomKills(): number {
    const m = /^oom_kill (\d+)$/m.exec(this.io.read(`${this.dir}/memory.events`) ?? "");
    return m ? Number(m[1]) : 0;
  }

  /** Turns a controller on in every ancestor's subtree_control, so the leaf has its files. */
  #enable(controller: string): void {
    const leaf = this.dir;
    const have = (this.io.read(`${leaf}/cgroup.controllers`) ?? "").split(/\s+/);
    if (have.includes(controller)) return;
    const mount = mountOf(this.rec, leaf) ?? leaf;
    let dir = mount;
    for (const part of leaf.slice(mount.length).split("/").filter((p) => p !== "")) {
      this.io.write(`${dir}/cgroup.subtree_control`, `+${controller}`);
      dir = `${dir}/${part}`;
    }
  }
}
