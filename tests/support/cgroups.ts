/**
 * Helpers of the cgroup end-to-end tests: the host's hierarchies, each test's cgroup parent
 * (/denki-test-<pid>), containers launched into it, and removal of whatever a failing test
 * leaves behind.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS, type Json, type Lab, withLab } from "./container.ts";
import { type Requirement, testWith } from "./requires.ts";
import { cgroupsNamed, emptyAndRemove } from "./cgroup_cleanup.ts";
import { exists } from "./fs.ts";
export { exists };

/** The parent of every container cgroup this test process makes. */
export const PARENT = `/denki-test-${Deno.pid}`;

export const V1_NEEDED = ["memory", "cpu", "cpuset", "pids", "blkio", "devices", "freezer"];

export interface Mount {
  path: string;
  /** v1 controllers (and name=... options) of the hierarchy; empty for cgroup2. */
  controllers: string[];
  v2: boolean;
}

/** The cgroup hierarchies mounted on this host, from /proc/self/mountinfo. */
export function cgroupMounts(): Mount[] {
  const out: Mount[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const [pre, post] = line.split(" - ");
    if (pre === undefined || post === undefined) continue;
    const path = pre.split(" ")[4]!;
    const [fstype, , opts = ""] = post.split(" ");
    if (fstype === "cgroup2") out.push({ path, controllers: [], v2: true });
    if (fstype === "cgroup") out.push({ path, controllers: opts.split(","), v2: false });
  }
  return out;
}

export const MOUNTS = cgroupMounts();

/** Mount point of a v1 controller's hierarchy. */
export function v1(controller: string): string {
  const m = MOUNTS.find((m) => !m.v2 && m.controllers.includes(controller));
  if (m === undefined) throw new Error(`no v1 ${controller} hierarchy`);
  return m.path;
}

/** Requirement: the v1 controllers these tests read, each on a mounted hierarchy. */
export function v1Cgroups(): Requirement {
  const missing = V1_NEEDED.filter((c) => !MOUNTS.some((m) => !m.v2 && m.controllers.includes(c)));
  return missing.length === 0 ? undefined : `no cgroup v1 ${missing.join(", ")} hierarchy`;
}

export const REQS = [...CONTAINER_REQS, v1Cgroups()];

/** A cgroup file of a v1 controller, trimmed. */
export function cgFile(controller: string, path: string, file: string): string {
  return Deno.readTextFileSync(`${v1(controller)}${path}/${file}`).trim();
}

/** The pids in a cgroup directory's cgroup.procs ([] when it does not exist). */
export function procsIn(dir: string): number[] {
  try {
    return Deno.readTextFileSync(`${dir}/cgroup.procs`).split("\n").filter((l) => l !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** The pids in a container cgroup (v1 pids hierarchy). */
export const cgroupProcs = (path: string) => procsIn(`${v1("pids")}${path}`);

/** Every hierarchy directory of a cgroup path (v1 mounts that denki uses, and cgroup2). */
export function cgroupDirs(path: string): string[] {
  return MOUNTS.filter((m) => m.v2 || m.controllers.some((c) => V1_NEEDED.includes(c)))
    .map((m) => `${m.path}${path}`);
}

/** Asserts that neither the container's cgroup nor the test parent exists on any hierarchy. */
export function assertNoCgroup(path: string, what: string): void {
  const dirs = [...cgroupDirs(path), ...cgroupDirs(PARENT)].filter(exists);
  assert.deepEqual(dirs, [], `${what}: cgroup directories left behind`);
  // The hierarchies the brief names, checked by name as well.
  for (const dir of [`/sys/fs/cgroup/memory${PARENT}`, `/sys/fs/cgroup/unified${PARENT}`]) {
    assert.ok(!exists(dir), `${what}: ${dir} still exists`);
  }
}

/**
 * Removes whatever is left under PARENT on every hierarchy (after a failure): thaws, kills
 * the processes still in those cgroups (only this test's containers are there), then rmdirs
 * deepest first. Returns the directories it found.
 */
export async function removeLeftovers(): Promise<string[]> {
  const found = cgroupsNamed(PARENT.slice(1));
  for (const stuck of await emptyAndRemove(found)) {
    console.error(`cgroup test: cannot remove ${stuck}`);
  }
  return found;
}

/**
 * A cgroup test: runs with a fresh Lab (containers deleted afterwards), then removes any
 * cgroup directory left under PARENT. A test that passed but left some fails.
 */
export const T = (
  name: string,
  fn: (lab: Lab, t: Deno.TestContext) => Promise<void>,
  reqs = REQS,
) =>
  testWith(`cgroup: ${name}`, reqs, async (t) => {
    let failed = true;
    try {
      await withLab((lab) => fn(lab, t));
      failed = false;
    } finally {
      const left = await removeLeftovers();
      if (!failed && left.length > 0) {
        // deno-lint-ignore no-unsafe-finally
        throw new Error(`cgroup directories were left behind: ${left.join(", ")}`);
      }
    }
  });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function stateOf(lab: Lab, id: string): Promise<Json> {
  const r = await lab.denki(["state", id]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

export async function waitStatus(lab: Lab, id: string, status: string): Promise<void> {
  await waitFor(`${id} to be ${status}`, async () => (await stateOf(lab, id)).status === status);
}

/** The container's cgroup path (what the tests set as linux.cgroupsPath). */
export const pathOf = (id: string) => `${PARENT}/${id}`;

/** Creates (or with `start`, runs detached) a container in its own test cgroup. */
export async function launch(
  lab: Lab,
  id: string,
  args: string[],
  patch: (c: Json) => void = () => {},
  start = true,
): Promise<{ pid: number; rootfs: string; path: string }> {
  const b = lab.bundle((c) => {
    c.process.args = args;
    c.linux.cgroupsPath = pathOf(id);
    patch(c);
  });
  const r = await lab.denki(
    start ? ["run", "-d", "--bundle", b.dir, id] : [
      "create",
      "--bundle",
      b.dir,
      id,
    ],
  );
  assert.equal(r.code, 0, `${id}: ${r.stderr}`);
  const pid = (await stateOf(lab, id)).pid as number;
  return { pid, rootfs: b.rootfs, path: pathOf(id) };
}

/**
 * Deletes a container and checks that its cgroup and (unless another container still uses
 * it) the test parent are gone.
 */
export async function deleteAndCheck(
  lab: Lab,
  id: string,
  force = false,
  last = true,
): Promise<void> {
  const r = await lab.denki(["delete", ...(force ? ["--force"] : []), id]);
  assert.equal(r.code, 0, `delete ${id}: ${r.stderr}`);
  if (last) assertNoCgroup(pathOf(id), `delete ${id}`);
  else {
    assert.deepEqual(cgroupDirs(pathOf(id)).filter(exists), [], `delete ${id}: its cgroup is gone`);
  }
}

/** A file the container wrote in its (writable) rootfs, or "" while it does not exist. */
export function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Host processes that hold a file under `dir` open or have it as their cwd. */
export function holders(dir: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const links: string[] = [];
    try {
      for (const fd of Deno.readDirSync(`/proc/${e.name}/fd`)) {
        try {
          links.push(Deno.readLinkSync(`/proc/${e.name}/fd/${fd.name}`));
        } catch {
          // closed meanwhile
        }
      }
      links.push(Deno.readLinkSync(`/proc/${e.name}/cwd`));
    } catch {
      continue;
    }
    if (links.some((l) => l.startsWith(`${dir}/`) || l === dir)) out.push(Number(e.name));
  }
  return out;
}

/** major:minor of the whole disk behind "/", if it is a real block device. */
export function rootDisk(): { major: number; minor: number } | undefined {
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const f = line.split(" ");
    if (f[4] !== "/") continue;
    let dev = f[2]!;
    const sys = `/sys/dev/block/${dev}`;
    if (!exists(sys)) continue;
    // Throttling takes whole disks: a partition's disk is its parent in sysfs.
    if (exists(`${sys}/partition`)) dev = Deno.readTextFileSync(`${sys}/../dev`).trim();
    const [major, minor] = dev.split(":").map(Number);
    return { major: major!, minor: minor! };
  }
  return undefined;
}

/** What a container with a busy shell and `n` background sleeps runs. */
export const sleepers = (n: number) => ["sh", "-c", `${"sleep 100 & ".repeat(n)}wait`];

export const MiB = 1 << 20;
