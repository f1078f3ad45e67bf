/**
 * Helpers for driving a containerd runtime v2 shim through ctr (tests/shim_test.ts): which
 * shim a test runs against (denki's, or containerd's runc shim with runc as a control that
 * shows what containerd itself does), detached containers that leave a marker in a shared
 * directory, `ctr task ls` parsing, `ctr events` as a stream, cgroup and process look-ups.
 */
import assert from "node:assert/strict";
import {
  BUSYBOX_IMAGE,
  Containerd,
  CONTAINERD_REQS,
  DENKI_RUNTIME,
  SHIM_LAUNCHER,
  shimPids,
} from "./containerd.ts";
import { withHarness } from "./harness.ts";
import { exists } from "./fs.ts";
import { program, type Requirement } from "./requires.ts";
import { encodeRequest, frame, REQUEST } from "./ttrpc_client.ts";

/** The shim a case runs against. */
export interface Shim {
  /** "denki", or "runc-control" (containerd's runc shim with runc). */
  name: "denki" | "runc-control";
  runtime: string;
  /** What running it needs. */
  reqs: Requirement[];
  /** Where the runtime keeps its containers' state, as seen from the host. */
  stateRoot(c: Containerd): string;
}

/** denki's shim, found by containerd on its PATH. */
export const DENKI: Shim = {
  name: "denki",
  runtime: DENKI_RUNTIME,
  reqs: [
    ...CONTAINERD_REQS,
    exists(SHIM_LAUNCHER) ? undefined : "bin/containerd-shim-denki-v2 is not in this checkout",
  ],
  stateRoot: (c) => c.shimStateRoot,
};

/** containerd's runc shim with runc: the same cases as a control of the tests themselves. */
export const RUNC_CONTROL: Shim = {
  name: "runc-control",
  runtime: "io.containerd.runc.v2",
  reqs: [...CONTAINERD_REQS, program("runc")],
  stateRoot: (c) => `${c.defaultRuncRoot}/${c.ns}`,
};

/**
 * The shims to run every case against: denki's, plus the runc control when
 * DENKI_SHIM_CONTROL=1 (useful when a case fails and the question is whose behaviour it is).
 */
export function shimsUnderTest(): Shim[] {
  return Deno.env.get("DENKI_SHIM_CONTROL") === "1" ? [DENKI, RUNC_CONTROL] : [DENKI];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 50 ms until it holds; fails naming `what` after `ms`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Runs `fn` with a started containerd (`env` added to its environment), whose `runc` on PATH
 * is runc itself, so nothing but the shim under test can reach denki. The runc control
 * tolerates the `/<namespace>` parent cgroups runc leaves (containerd never removes them);
 * anything else left behind fails the case.
 */
export async function withShim(
  shim: Shim,
  fn: (c: Containerd) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  await withHarness("containerd", async () => {
    const c = new Containerd();
    try {
      await c.start("runc", env);
      await c.importImages();
    } catch (err) {
      await c.stop().catch((cleanup) => console.error(`containerd harness: ${cleanup}`));
      throw err;
    }
    const parents = new RegExp(`^cgroup /sys/fs/cgroup/[^/]+/${c.ns}$`);
    const tolerated = (l: string) => shim.name === "runc-control" && parents.test(l);
    return { c, stop: async () => (await c.stop()).filter((l) => !tolerated(l)) };
  }, (h) => fn(h.c));
}

/** ctr flags that pick `shim` and keep ctr's fifos in the temp dir. */
export function runFlags(c: Containerd, shim: Shim): string[] {
  return ["--runtime", shim.runtime, "--fifo-dir", c.fifoDir, "--snapshotter", c.snapshotter];
}

/** `ctr task ls` as id → {pid, status}. */
export async function tasks(c: Containerd): Promise<Map<string, { pid: number; status: string }>> {
  const r = await c.ctr(["task", "ls"]);
  assert.equal(r.code, 0, r.stderr);
  const out = new Map<string, { pid: number; status: string }>();
  for (const line of r.stdout.trim().split("\n").slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (id !== undefined) out.set(id, { pid: Number(pid), status: status ?? "" });
  }
  return out;
}

/** The status `ctr task ls` shows for `id` (undefined when it is not listed). */
export async function taskStatus(c: Containerd, id: string): Promise<string | undefined> {
  return (await tasks(c)).get(id)?.status;
}

/** A detached container: its task's pid and the host directory it sees at /shared. */
export interface Detached {
  id: string;
  pid: number;
  shared: string;
}

/**
 * `ctr run -d` of the busybox image running `script` under sh, with a fresh host directory
 * bound at /shared; waits until the workload wrote `/shared/<marker>` (so it really runs).
 */
export async function runDetached(
  c: Containerd,
  shim: Shim,
  id: string,
  script: string,
  opts: { extra?: string[]; marker?: string } = {},
): Promise<Detached> {
  const shared = `${c.dir}/shared-${id}`;
  Deno.mkdirSync(shared);
  const r = await c.ctr([
    "run",
    "-d",
    ...runFlags(c, shim),
    "--mount",
    `type=bind,src=${shared},dst=/shared,options=rbind:rw`,
    ...(opts.extra ?? []),
    BUSYBOX_IMAGE,
    id,
    "sh",
    "-c",
    script,
  ]);
  assert.equal(r.code, 0, `ctr run -d ${id}: ${r.stderr}\n${c.logTail()}`);
  const marker = opts.marker ?? "started";
  await waitFor(`${id} to write /shared/${marker}`, () => exists(`${shared}/${marker}`));
  const task = (await tasks(c)).get(id);
  assert.ok(task, `task ${id} is listed`);
  assert.equal(task.status, "RUNNING");
  return { id, pid: task.pid, shared };
}

/** `sh -c` text that writes the marker, then sleeps as the container's main process. */
export const SLEEPER = "echo up > /shared/started; exec sleep 1000";

/** `ctr task exec` of `sh -c script`; its result. */
export function exec(c: Containerd, id: string, execId: string, script: string) {
  return c.ctr([
    "task",
    "exec",
    "--fifo-dir",
    c.fifoDir,
    "--exec-id",
    execId,
    id,
    "sh",
    "-c",
    script,
  ]);
}

/** Kills a detached task with SIGKILL, deletes it and its container, as a user of ctr does. */
export async function removeTask(c: Containerd, id: string): Promise<void> {
  const kill = await c.ctr(["task", "kill", "-s", "SIGKILL", id]);
  assert.equal(kill.code, 0, `ctr task kill ${id}: ${kill.stderr}`);
  await waitFor(`${id} to stop`, async () => (await taskStatus(c, id)) === "STOPPED");
  const del = await c.ctr(["task", "delete", id]);
  assert.equal(del.code, 0, `ctr task delete ${id}: ${del.stderr}`);
  const cdel = await c.ctr(["container", "delete", id]);
  assert.equal(cdel.code, 0, `ctr container delete ${id}: ${cdel.stderr}`);
}

/** The shim daemons serving namespace `ns` (the start/delete sub-commands left out). */
export function shimDaemons(ns: string): number[] {
  return shimPids(ns, true);
}

/** The bundle containerd made for `id` (its `address` file names the shim's socket). */
export function bundleOf(c: Containerd, id: string): string {
  return `${c.dir}/state/io.containerd.runtime.v2.task/${c.ns}/${id}`;
}

/** The mount point of the v1 hierarchy of `controller`, if there is one. */
export function v1Mount(controller: string): string | undefined {
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const [pre, post] = line.split(" - ");
    const [fstype, , opts = ""] = (post ?? "").split(" ");
    if (fstype === "cgroup" && opts.split(",").includes(controller)) return pre!.split(" ")[4];
  }
  return undefined;
}

/** Path of `pid`'s cgroup for each v1 controller ("" key: its cgroup2 path). */
export function cgroupOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of Deno.readTextFileSync(`/proc/${pid}/cgroup`).trim().split("\n")) {
    const [, controllers = "", path = ""] = line.split(":");
    for (const ctl of controllers.split(",")) out.set(ctl, path);
  }
  return out;
}

/** The parent pid of `pid` (undefined once it is gone). */
export function ppidOf(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name may hold spaces and parentheses: fields start after the last ")".
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** True when `ancestor` is `pid`'s parent, grandparent, and so on. */
export function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = ppidOf(pid); p !== undefined && p > 1; p = ppidOf(p)) {
    if (p === ancestor) return true;
  }
  return false;
}

/** True while `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** One line of `ctr events`: its topic and the event as JSON. */
export interface CtrEvent {
  topic: string;
  event: Record<string, unknown>;
}

/** `ctr events` running in the background until `stop` kills it by pid. */
export class EventStream {
  #child: Deno.ChildProcess;
  #text = "";
  #done: Promise<void>;

  constructor(c: Containerd) {
    const child = new Deno.Command("ctr", {
      args: ["-a", c.socket, "-n", c.ns, "events"],
      clearEnv: true,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#child = child;
    this.#done = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stdout) this.#text += dec.decode(chunk);
    })();
  }

  /** The events seen so far (lines `<time> <namespace> <topic> <json>`). */
  events(): CtrEvent[] {
    const out: CtrEvent[] = [];
    for (const line of this.#text.split("\n")) {
      const m = / (\/[\w/-]+) (\{.*\})\s*$/.exec(line);
      if (m) out.push({ topic: m[1]!, event: JSON.parse(m[2]!) });
    }
    return out;
  }

  /** The raw text, for messages. */
  get text(): string {
    return this.#text;
  }

  /** Kills ctr events by pid and waits for it. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#done;
  }
}

/** `ctr ... run --rm -t` as one shell-quoted command line for script(1). */
export function ctrTty(
  c: Containerd,
  shim: Shim,
  id: string,
  extra: string[],
  args: string[],
): string {
  return [
    "ctr",
    "-a",
    c.socket,
    "-n",
    c.ns,
    "run",
    "--rm",
    "-t",
    ...runFlags(c, shim),
    ...extra,
    BUSYBOX_IMAGE,
    id,
    ...args,
  ].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
}

/** Garbage for a shim's socket, each sent on a fresh connection followed by EOF. */
export function garbage(id: string): [string, Uint8Array][] {
  const enc = new TextEncoder();
  const state = encodeRequest(TASK, "State", stateRequest(id));
  return [
    [
      "a State whose payload is no protobuf",
      frame(
        1,
        REQUEST,
        encodeRequest(
          TASK,
          "State",
          new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        ),
      ),
    ],
    [
      "a body that is no Request",
      frame(1, REQUEST, new Uint8Array([0x0b, 0x0c, 0xff, 0x00, 0x12])),
    ],
    ["an even (server-side) stream id", frame(2, REQUEST, state)],
    ["an unknown frame type", frame(1, 7, state)],
    ["a 4 GiB length", frame(1, REQUEST, new Uint8Array(16), 0xffffffff)],
    ["an HTTP request", enc.encode("GET / HTTP/1.1\r\nHost: shim\r\n\r\n")],
    ["half a header", new Uint8Array([0, 0, 0])],
  ];
}

/** The shim's Task service, as ttrpc names it. */
export const TASK = "containerd.task.v2.Task";

/** The protobuf bytes of StateRequest{id = 1}. */
export function stateRequest(id: string): Uint8Array {
  const bytes = new TextEncoder().encode(id);
  return new Uint8Array([0x0a, bytes.length, ...bytes]);
}

/**
 * `ctr task ps` lists exactly the processes in the task's pids cgroup (waiting until there are
 * `count`), the task's own `pid` among them.
 */
export async function assertPsIsCgroup(
  c: Containerd,
  id: string,
  pid: number,
  count: number,
): Promise<void> {
  const pidsDir = `${v1Mount("pids") ?? "/sys/fs/cgroup"}/${c.ns}/${id}`;
  let inCgroup: number[] = [];
  await waitFor(`${count} processes in ${id}'s cgroup`, () => {
    inCgroup = Deno.readTextFileSync(`${pidsDir}/cgroup.procs`).trim().split("\n").map(Number);
    return inCgroup.length === count;
  });
  const ps = await c.ctr(["task", "ps", id]);
  assert.equal(ps.code, 0, ps.stderr);
  const listed = ps.stdout.trim().split("\n").slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
  assert.deepEqual(listed.sort((a, b) => a - b), inCgroup.sort((a, b) => a - b), ps.stdout);
  assert.ok(listed.includes(pid), `ctr task ps lists the task's pid ${pid}`);
}
