/**
 * Test support: a cgroupfs made of plain files in a temp dir, reached through the io seam
 * (CgroupIo) like the real one. It keeps the kernel's rules the drivers depend on, so a
 * driver that breaks one fails its test: a new cgroup comes with its interface files and no
 * others can be created; v1 cpusets start empty; memory may not exceed memory+swap on v1; a
 * v2 controller's files appear only once the parent's cgroup.subtree_control enables it, which
 * needs the controller in the parent's cgroup.controllers and no processes in the parent; a v2
 * cgroup that hands controllers down takes no processes; a cgroup with processes or children
 * cannot be removed; cgroup.freeze shows in cgroup.events. Not a test itself (no _test
 * suffix); the leading underscore keeps it out of the library's face.
 */
import { SyscallError } from "../errors.ts";
import { type CgroupIo, CgroupWriteError } from "./io.ts";

const ENOENT = 2;
const EBUSY = 16;
const EINVAL = 22;
const UNLIMITED = "9223372036854771712";

/** The interface files of a new v1 cgroup, per controller. */
const V1_FILES: Record<string, Record<string, string>> = {
  cpu: {
    "cpu.shares": "1024",
    "cpu.cfs_period_us": "100000",
    "cpu.cfs_quota_us": "-1",
    "cpu.rt_period_us": "1000000",
    "cpu.rt_runtime_us": "0",
    "cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
  },
  cpuacct: {
    "cpuacct.usage": "0",
    "cpuacct.usage_percpu": "0 0 ",
    "cpuacct.stat": "user 0\nsystem 0\n",
  },
  cpuset: { "cpuset.cpus": "", "cpuset.mems": "", "cpuset.cpu_exclusive": "0" },
  memory: {
    "memory.limit_in_bytes": UNLIMITED,
    "memory.memsw.limit_in_bytes": UNLIMITED,
    "memory.soft_limit_in_bytes": UNLIMITED,
    "memory.usage_in_bytes": "0",
    "memory.swappiness": "60",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    "memory.stat": "cache 0\nrss 0\n",
  },
  pids: { "pids.max": "max", "pids.current": "0" },
  devices: { "devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm" },
  freezer: { "freezer.state": "THAWED" },
  blkio: { "blkio.weight": "500", "blkio.throttle.read_bps_device": "" },
  hugetlb: { "hugetlb.2MB.limit_in_bytes": UNLIMITED, "hugetlb.2MB.usage_in_bytes": "0" },
};

/** The files a v2 controller adds to a cgroup once its parent enables it. */
const V2_FILES: Record<string, Record<string, string>> = {
  cpu: { "cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0" },
  cpuset: { "cpuset.cpus": "", "cpuset.mems": "" },
  memory: {
    "memory.max": "max",
    "memory.low": "0",
    "memory.swap.max": "max",
    "memory.current": "0",
    "memory.stat": "file 0\nanon 0\n",
    "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
  },
  pids: { "pids.max": "max", "pids.current": "0" },
  io: { "io.weight": "default 100", "io.max": "", "io.stat": "" },
  hugetlb: {
    "hugetlb.2MB.max": "max",
    "hugetlb.2MB.current": "0",
    "hugetlb.2MB.events": "max 0\n",
  },
};

/** Files every v2 cgroup has, controllers or not (the root has no cgroup.freeze). */
const V2_CORE: Record<string, string> = {
  "cgroup.procs": "",
  "cgroup.subtree_control": "",
  "cgroup.events": "populated 0\nfrozen 0\n",
  "cgroup.max.depth": "max",
  "cgroup.freeze": "0",
  "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
};

type Mount = { version: 1; controllers: string[] } | { version: 2 };

/** A fake cgroupfs under a fresh temp dir; `dispose` removes it. */
export class FakeCgroupfs implements CgroupIo {
  readonly root = Deno.makeTempDirSync({ prefix: "denki-cgroupfs-" });
  /** Every write that reached a file, in order, as "path=value"; programs as "dir=<BPF>". */
  readonly writes: string[] = [];
  /** File names (or full paths) whose writes fail with an errno. */
  readonly refuse = new Map<string, number>();
  /** Device programs attached, in order. */
  readonly programs: { dir: string; program: Uint8Array }[] = [];
  /** Stand-ins for /proc/<pid>/... files, by path. */
  readonly proc = new Map<string, string>();
  readonly #mounts = new Map<string, Mount>();
  #nextId = 100;

  /** Mounts a v1 hierarchy of `controllers` at root/name; returns its mountinfo line. */
  mountV1(name: string, controllers: readonly string[], files: Record<string, string> = {}) {
    const mount = `${this.root}/${name}`;
    this.#mounts.set(mount, { version: 1, controllers: [...controllers] });
    Deno.mkdirSync(mount);
    this.#populate(mount);
    for (const [f, v] of Object.entries(files)) Deno.writeTextFileSync(`${mount}/${f}`, v);
    return `${this.#nextId++} 1 0:${this.#nextId} / ${mount} rw - cgroup cgroup rw,${
      controllers.join(",")
    }`;
  }

  /** Mounts a cgroup2 hierarchy at root/name offering `controllers`; returns its mountinfo line. */
  mountV2(name: string, controllers: readonly string[]): string {
    const mount = `${this.root}/${name}`;
    this.#mounts.set(mount, { version: 2 });
    Deno.mkdirSync(mount);
    for (const [f, v] of Object.entries(V2_CORE)) {
      if (f !== "cgroup.freeze") Deno.writeTextFileSync(`${mount}/${f}`, v);
    }
    Deno.writeTextFileSync(`${mount}/cgroup.controllers`, controllers.join(" "));
    return `${this.#nextId++} 1 0:${this.#nextId} / ${mount} rw - cgroup2 cgroup2 rw`;
  }

  /** Removes the temp dir. */
  dispose(): void {
    Deno.removeSync(this.root, { recursive: true });
  }

  /** The hierarchy `path` is in. */
  #mountOf(path: string): [string, Mount] | undefined {
    for (const [mount, m] of this.#mounts) {
      if (path === mount || path.startsWith(`${mount}/`)) return [mount, m];
    }
    return undefined;
  }

  /** Gives a new cgroup directory its interface files. */
  #populate(dir: string): void {
    const [mount, m] = this.#mountOf(dir)!;
    if (m.version === 1) {
      Deno.writeTextFileSync(`${dir}/cgroup.procs`, "");
      for (const c of m.controllers) {
        for (const [f, v] of Object.entries(V1_FILES[c] ?? {})) {
          Deno.writeTextFileSync(`${dir}/${f}`, v);
        }
      }
      return;
    }
    if (dir === mount) return;
    for (const [f, v] of Object.entries(V2_CORE)) Deno.writeTextFileSync(`${dir}/${f}`, v);
    const enabled = this.#words(`${parentOf(dir)}/cgroup.subtree_control`);
    Deno.writeTextFileSync(`${dir}/cgroup.controllers`, enabled.join(" "));
    for (const c of enabled) this.#addControllerFiles(dir, c);
  }

  #addControllerFiles(dir: string, controller: string): void {
    for (const [f, v] of Object.entries(V2_FILES[controller] ?? {})) {
      Deno.writeTextFileSync(`${dir}/${f}`, v);
    }
  }

  #words(path: string): string[] {
    return (this.read(path) ?? "").split(/\s+/).filter((w) => w !== "");
  }

  #isDir(path: string): boolean {
    try {
      return Deno.statSync(path).isDirectory;
    } catch {
      return false;
    }
  }

  read(path: string): string | undefined {
    if (path.startsWith("/proc/")) return this.proc.get(path);
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  }

  write(path: string, value: string): void {
    const name = path.slice(path.lastIndexOf("/") + 1);
    const refused = this.refuse.get(name) ?? this.refuse.get(path);
    const fail = (errno: number) => new CgroupWriteError(path, value, errno);
    if (refused !== undefined) throw fail(refused);
    // cgroupfs has no way to make a file: only the interface files exist.
    if (this.#isDir(path) || this.read(path) === undefined) throw fail(ENOENT);
    const dir = parentOf(path);
    const [mount, m] = this.#mountOf(path) ?? [];
    if (name === "cgroup.procs") {
      // v2: a cgroup that hands controllers down has no processes of its own.
      if (
        m?.version === 2 && dir !== mount && this.#words(`${dir}/cgroup.subtree_control`).length
      ) {
        throw fail(EBUSY);
      }
      this.#movePid(mount!, value.trim());
      Deno.writeTextFileSync(path, `${value.trim()}\n`, { append: true });
    } else if (name === "cgroup.subtree_control") {
      this.#subtreeControl(dir, mount!, value, fail);
    } else if (name === "cgroup.freeze") {
      Deno.writeTextFileSync(path, value);
      const frozen = value.trim() === "1" ? "1" : "0";
      Deno.writeTextFileSync(`${dir}/cgroup.events`, `populated 0\nfrozen ${frozen}\n`);
    } else if (name === "memory.limit_in_bytes" || name === "memory.memsw.limit_in_bytes") {
      // The kernel keeps memory <= memory+swap at every step.
      const n = (f: string) => BigInt(f === "-1" ? UNLIMITED : f.trim());
      const memory = name === "memory.limit_in_bytes"
        ? n(value)
        : n(this.read(`${dir}/memory.limit_in_bytes`)!);
      const memsw = name === "memory.memsw.limit_in_bytes"
        ? n(value)
        : n(this.read(`${dir}/memory.memsw.limit_in_bytes`)!);
      if (memory > memsw) throw fail(EINVAL);
      Deno.writeTextFileSync(path, value);
    } else {
      Deno.writeTextFileSync(path, value);
    }
    this.writes.push(`${path}=${value}`);
  }

  /** A pid joins one cgroup of a hierarchy and leaves the others. */
  #movePid(mount: string, pid: string): void {
    const walk = (d: string) => {
      const procs = this.#words(`${d}/cgroup.procs`);
      if (procs.includes(pid)) {
        const rest = procs.filter((p) => p !== pid);
        Deno.writeTextFileSync(`${d}/cgroup.procs`, rest.map((p) => `${p}\n`).join(""));
      }
      for (const c of this.children(d)) walk(`${d}/${c}`);
    };
    walk(mount);
  }

  #subtreeControl(
    dir: string,
    mount: string,
    value: string,
    fail: (errno: number) => CgroupWriteError,
  ): void {
    const have = this.#words(`${dir}/cgroup.controllers`);
    const enabled = new Set(this.#words(`${dir}/cgroup.subtree_control`));
    for (const word of value.split(/\s+/).filter((w) => w !== "")) {
      const c = word.slice(1);
      if (!word.startsWith("+") && !word.startsWith("-")) throw fail(EINVAL);
      if (word.startsWith("-")) {
        enabled.delete(c);
        continue;
      }
      if (!have.includes(c)) throw fail(ENOENT);
      if (dir !== mount && this.#words(`${dir}/cgroup.procs`).length > 0) throw fail(EBUSY);
      if (enabled.has(c)) continue;
      enabled.add(c);
      for (const child of this.children(dir)) {
        const cdir = `${dir}/${child}`;
        const list = this.#words(`${cdir}/cgroup.controllers`);
        Deno.writeTextFileSync(`${cdir}/cgroup.controllers`, [...list, c].join(" "));
        this.#addControllerFiles(cdir, c);
      }
    }
    Deno.writeTextFileSync(`${dir}/cgroup.subtree_control`, [...enabled].join(" "));
  }

  mkdir(path: string): boolean {
    if (this.#isDir(path)) return false;
    if (!this.#isDir(parentOf(path)) || this.#mountOf(path) === undefined) {
      throw new SyscallError("mkdirat", path, ENOENT);
    }
    Deno.mkdirSync(path);
    this.#populate(path);
    return true;
  }

  rmdir(path: string): number {
    if (!this.#isDir(path)) return ENOENT;
    if (this.children(path).length > 0) return EBUSY;
    if (this.#words(`${path}/cgroup.procs`).length > 0) return EBUSY;
    // The interface files go with the directory.
    Deno.removeSync(path, { recursive: true });
    return 0;
  }

  exists(path: string): boolean {
    if (path.startsWith("/proc/")) return this.proc.has(path);
    try {
      Deno.lstatSync(path);
      return true;
    } catch {
      return false;
    }
  }

  children(path: string): string[] {
    try {
      return [...Deno.readDirSync(path)].filter((e) => e.isDirectory).map((e) => e.name).sort();
    } catch {
      return [];
    }
  }

  attachDeviceProgram(dir: string, program: Uint8Array): void {
    if (this.#mountOf(dir)?.[1].version !== 2 || !this.#isDir(dir)) {
      throw new SyscallError("bpf", dir, EINVAL);
    }
    this.programs.push({ dir, program });
    this.writes.push(`${dir}=<BPF>`);
  }

  /** Puts a process in a cgroup behind the drivers' back (as a fork would). */
  addProcess(dir: string, pid: number): void {
    Deno.writeTextFileSync(`${dir}/cgroup.procs`, `${pid}\n`, { append: true });
  }
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}
