/**
 * containerd-shim-denki-v2 end to end: Debian's containerd 1.6 started by the harness
 * (tests/support/containerd.ts) finds denki's shim on its PATH for `--runtime
 * io.containerd.denki.v2`, and ctr drives it: run with output and status, a detached
 * container's ps/pause/resume/exec/metrics/kill/delete, a terminal and its resize, a memory
 * limit, the Wasm image, the event stream, containerd restarting under a running container,
 * containerd's environment kept from the workload, two containers of a pod in one shim, a
 * shim killed with SIGKILL, and malformed ttrpc requests on the shim's socket. Every case
 * reads back a marker the workload itself wrote. `runc` on containerd's PATH is runc, so
 * nothing but the shim can reach denki. DENKI_SHIM_CONTROL=1 also runs every case against
 * containerd's runc shim with runc, which checks the tests themselves.
 */
import assert from "node:assert/strict";
import {
  BUSYBOX_IMAGE,
  type Containerd,
  mountsUnder,
  runFor,
  WASM_IMAGE,
  WASM_IMAGE_ENV,
} from "./support/containerd.ts";
import {
  alive,
  assertPsIsCgroup,
  bundleOf,
  cgroupOf,
  ctrTty,
  descendsFrom,
  EventStream,
  exec,
  garbage,
  removeTask,
  runDetached,
  runFlags,
  type Shim,
  shimDaemons,
  shimsUnderTest,
  SLEEPER,
  stateRequest,
  TASK,
  tasks,
  taskStatus,
  v1Mount,
  waitFor,
  withShim,
} from "./support/shim.ts";
import { cgroupsNamed } from "./support/cgroup_cleanup.ts";
import { exists } from "./support/fs.ts";
import { program, type Requirement, testWith } from "./support/requires.ts";
import { socketOfAddress, TtrpcConn } from "./support/ttrpc_client.ts";

function T(
  name: string,
  fn: (c: Containerd, shim: Shim) => Promise<void>,
  opts: { env?: Record<string, string>; denkiOnly?: boolean; reqs?: Requirement[] } = {},
): void {
  for (const shim of shimsUnderTest()) {
    if (opts.denkiOnly && shim.name !== "denki") continue;
    testWith(
      `shim [${shim.name}]: ${name}`,
      [...shim.reqs, ...(opts.reqs ?? [])],
      () => withShim(shim, (c) => fn(c, shim), opts.env ?? {}),
    );
  }
}

/** For denki: the wrapper on containerd's PATH was run to start a shim for `id`. */
function assertShimStarted(c: Containerd, shim: Shim, id: string): void {
  if (shim.name !== "denki") return;
  const calls = exists(c.shimCalls) ? Deno.readTextFileSync(c.shimCalls) : "";
  assert.match(calls, new RegExp(`-id ${id} .*start|start.*-id ${id}( |$)`), calls);
}

/**
 * The shim daemons of the namespace, each checked to be the shim under test: denki's is a
 * Deno process (the launcher execs deno), runc's the containerd-shim-runc-v2 binary.
 */
function daemonsOf(c: Containerd, shim: Shim): number[] {
  const pids = shimDaemons(c.ns);
  for (const pid of pids) {
    const exe = Deno.readLinkSync(`/proc/${pid}/exe`);
    if (shim.name === "denki") assert.equal(exe, Deno.realPathSync(Deno.execPath()));
    else assert.match(exe, /containerd-shim-runc-v2$/);
  }
  return pids;
}

/** Nothing of container `id` is left: state, cgroups, and (denki) the namespace's parents. */
function assertGone(c: Containerd, shim: Shim, id: string): void {
  assert.ok(!exists(`${shim.stateRoot(c)}/${id}`), `no runtime state for ${id}`);
  assert.deepEqual(cgroupsNamed(`${c.ns}/${id}`), [], `no cgroup of ${id}`);
  if (shim.name === "denki") assert.deepEqual(cgroupsNamed(c.ns), [], "no cgroup of the namespace");
}

T("ctr run --rm: the workload's output and exit status", async (c, shim) => {
  const r = await c.ctr([
    "run",
    "--rm",
    ...runFlags(c, shim),
    BUSYBOX_IMAGE,
    "rm1",
    "sh",
    "-c",
    "echo shim-marker; echo to-stderr >&2; exit 3",
  ]);
  assert.equal(r.stdout, "shim-marker\n", `${r.stderr}\n${c.logTail()}`);
  assert.equal(r.stderr, "to-stderr\n");
  assert.equal(r.code, 3);
  assertShimStarted(c, shim, "rm1");
  assert.equal((await c.ctr(["container", "ls", "-q"])).stdout, "", "--rm removed the container");
  assertGone(c, shim, "rm1");
  await waitFor("the shim to exit", () => shimDaemons(c.ns).length === 0);
});

T("run -d: task ps, pause, resume, exec, metrics, kill, delete", async (c, shim) => {
  const id = "life";
  const { pid, shared } = await runDetached(
    c,
    shim,
    id,
    "echo detached-marker > /shared/started; sleep 1000 & wait",
  );
  assert.equal(Deno.readTextFileSync(`${shared}/started`), "detached-marker\n");
  await assertPsIsCgroup(c, id, pid, 2);

  const pause = await c.ctr(["task", "pause", id]);
  assert.equal(pause.code, 0, pause.stderr);
  assert.equal(await taskStatus(c, id), "PAUSED");
  const freezer = v1Mount("freezer");
  if (freezer) {
    assert.equal(Deno.readTextFileSync(`${freezer}/${c.ns}/${id}/freezer.state`).trim(), "FROZEN");
  }
  const resume = await c.ctr(["task", "resume", id]);
  assert.equal(resume.code, 0, resume.stderr);
  assert.equal(await taskStatus(c, id), "RUNNING");
  if (freezer) {
    assert.equal(Deno.readTextFileSync(`${freezer}/${c.ns}/${id}/freezer.state`).trim(), "THAWED");
  }

  const ex = await exec(c, id, "e1", "echo in-exec; exit 5");
  assert.equal(ex.stdout, "in-exec\n", ex.stderr);
  assert.equal(ex.code, 5, "ctr task exec exits with the process's status");

  const metrics = await c.ctr(["task", "metrics", id]);
  assert.equal(metrics.code, 0, metrics.stderr);
  const rows = new Map(
    metrics.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((w) => w.length === 2)
      .map(([k, v]) => [k!, v!]),
  );
  assert.ok(Number(rows.get("memory.usage_in_bytes")) > 0, metrics.stdout);
  assert.equal(rows.get("pids.current"), "2", metrics.stdout);

  await removeTask(c, id);
  assertGone(c, shim, id);
  await waitFor("the shim to exit", () => shimDaemons(c.ns).length === 0);
});

T("ctr run -t: a terminal of the caller's size that follows a resize", async (c, shim) => {
  const shared = `${c.dir}/shared-tty`;
  Deno.mkdirSync(shared);
  // The workload waits for ctr's first ResizePty (the size of ctr's terminal), tells the test
  // it is up, then waits for the size to change.
  const workload = [
    "i=0",
    'while [ "$(stty size)" != "40 120" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done',
    'echo "first $(stty size)"; tty; echo tty-marker; touch /shared/ready',
    "i=0",
    'while [ "$(stty size)" = "40 120" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done',
    'echo "now $(stty size)"; exit 7',
  ].join("; ");
  const ctr = ctrTty(c, shim, "tty1", [
    "--mount",
    `type=bind,src=${shared},dst=/shared,options=rbind:rw`,
  ], ["sh", "-c", workload]);
  // script(1) gives the shell a pty; `stty` on it sets its size, and the kernel sends
  // SIGWINCH to its foreground group, ctr included, which forwards it as ResizePty. An
  // asynchronous command's stdin is /dev/null unless redirected: ctr -t needs the terminal.
  const shell = `stty rows 40 cols 120; ${ctr} </dev/tty & ` +
    `i=0; while [ ! -e ${shared}/ready ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; ` +
    `stty rows 50 cols 130; wait $!`;
  const out = await runFor("script", ["-q", "-e", "-c", shell, "/dev/null"], 60_000);
  assert.match(out.stdout, /tty-marker\r*\n/, `${out.stdout}\n${out.stderr}\n${c.logTail()}`);
  assert.match(out.stdout, /\/dev\/pts\/\d+\r*\n/, "the workload's stdin is a terminal");
  assert.match(out.stdout, /first 40 120\r*\n/, "the pty took ctr's terminal size");
  assert.match(out.stdout, /now 50 130\r*\n/, "ResizePty reached the pty");
  assert.equal(out.code, 7, out.stdout);
  assertShimStarted(c, shim, "tty1");
  assertGone(c, shim, "tty1");
}, { reqs: [program("script")] });

T("ctr run --memory-limit: the limit is in the container's memory cgroup", async (c, shim) => {
  const id = "mem";
  const limit = 64 * 1024 * 1024;
  const { pid, shared } = await runDetached(
    c,
    shim,
    id,
    "grep :memory: /proc/self/cgroup > /shared/inside; " + SLEEPER,
    { extra: ["--memory-limit", String(limit)] },
  );
  const memory = v1Mount("memory");
  if (memory !== undefined) {
    assert.equal(cgroupOf(pid).get("memory"), `/${c.ns}/${id}`, "ctr's cgroupsPath /<ns>/<id>");
    assert.equal(
      Deno.readTextFileSync(`${memory}/${c.ns}/${id}/memory.limit_in_bytes`).trim(),
      String(limit),
    );
    // The workload's own view of its memory cgroup (ctr's spec has no cgroup namespace).
    assert.match(Deno.readTextFileSync(`${shared}/inside`), new RegExp(`:memory:/${c.ns}/${id}\n`));
  } else {
    const unified = cgroupOf(pid).get("");
    assert.equal(
      Deno.readTextFileSync(`/sys/fs/cgroup${unified}/memory.max`).trim(),
      String(limit),
    );
  }
  await removeTask(c, id);
  assertGone(c, shim, id);
});

const HELLO = "Hello from a denki Wasm container. My environment:\n";

T("the Wasm image prints its greeting and its environment", async (c, shim) => {
  const r = await c.ctr(["run", "--rm", ...runFlags(c, shim), WASM_IMAGE, "w1"]);
  assert.equal(r.code, 0, `${r.stderr}\n${c.logTail()}`);
  assert.equal(r.stdout, HELLO + WASM_IMAGE_ENV.map((e) => `${e}\n`).join(""));
  assertShimStarted(c, shim, "w1");
  assertGone(c, shim, "w1");
}, { denkiOnly: true });

T("ctr events: create, start, exit (with the status), delete", async (c, shim) => {
  const events = new EventStream(c);
  try {
    // ctr events subscribes asynchronously: wait until it sees an event of the test's making.
    const probe = ["container", "create", "--snapshotter", c.snapshotter, BUSYBOX_IMAGE, "probe"];
    assert.equal((await c.ctr(probe)).code, 0);
    assert.equal((await c.ctr(["container", "delete", "probe"])).code, 0);
    await waitFor("ctr events to subscribe", () => events.text.includes("/containers/delete"));
    const r = await c.ctr([
      "run",
      "--rm",
      ...runFlags(c, shim),
      BUSYBOX_IMAGE,
      "ev1",
      "sh",
      "-c",
      "echo ev-marker; exit 3",
    ]);
    assert.equal(r.stdout, "ev-marker\n", r.stderr);
    assert.equal(r.code, 3);
    const mine = () => events.events().filter((e) => e.event.container_id === "ev1");
    await waitFor("/tasks/delete", () => mine().some((e) => e.topic === "/tasks/delete"));
    const seen = mine().filter((e) => e.topic.startsWith("/tasks/"));
    assert.deepEqual(
      seen.map((e) => e.topic),
      ["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"],
      events.text,
    );
    const [create, start, exit, del] = seen.map((e) => e.event);
    assert.ok(Number(start!.pid) > 0, events.text);
    assert.equal(create!.pid, start!.pid, events.text);
    assert.equal(exit!.id, "ev1", "the exit of the init process carries the container's id");
    assert.equal(exit!.pid, start!.pid);
    assert.equal(exit!.exit_status, 3, events.text);
    assert.equal(del!.pid, start!.pid);
    assert.equal(del!.exit_status, 3, events.text);
  } finally {
    await events.stop();
  }
});

T("containerd restarts (SIGTERM, then SIGKILL) under a running container", async (c, shim) => {
  const id = "survivor";
  const { pid } = await runDetached(c, shim, id, SLEEPER);
  const [daemon] = daemonsOf(c, shim);
  assert.ok(daemon !== undefined, "one shim daemon");
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    await c.restart(signal);
    assert.ok(alive(daemon), `the shim survived containerd's ${signal}`);
    assert.ok(alive(pid), `the container survived containerd's ${signal}`);
    assert.deepEqual((await tasks(c)).get(id), { pid, status: "RUNNING" }, c.logTail());
    const ex = await exec(c, id, `after-${signal}`, `echo exec-after-${signal}; exit 2`);
    assert.equal(ex.stdout, `exec-after-${signal}\n`, `${ex.stderr}\n${c.logTail()}`);
    assert.equal(ex.code, 2);
  }
  await removeTask(c, id);
  assertGone(c, shim, id);
  await waitFor("the shim to exit", () => !alive(daemon));
});

const SECRET = "DENKI_SECRET";

T("containerd's environment never reaches the workload", async (c, shim) => {
  const id = "envs";
  await runDetached(c, shim, id, SLEEPER);
  // The test is only worth something if the shim itself has the variable.
  const [daemon] = daemonsOf(c, shim);
  assert.ok(daemon !== undefined);
  const shimEnv = Deno.readTextFileSync(`/proc/${daemon}/environ`).split("\0");
  assert.ok(shimEnv.includes(`${SECRET}=leak-a1b2`), "containerd passed its env to the shim");

  const check = (what: string, out: string, image: string[]) => {
    const lines = out.trim().split("\n");
    assert.ok(!out.includes("leak-a1b2") && !out.includes(SECRET), `${what}: ${out}`);
    assert.ok(
      !lines.some((l) => l.startsWith("DENKI_") || l.startsWith("TMPDIR=")),
      `${what}: ${out}`,
    );
    for (const e of image) assert.ok(lines.includes(e), `${what} has the image's ${e}: ${out}`);
  };
  const ex = await exec(c, id, "env1", "echo env-marker; env");
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /^env-marker\n/);
  check("exec", ex.stdout, ["PATH=/bin"]);
  const run = await c.ctr([
    "run",
    "--rm",
    ...runFlags(c, shim),
    BUSYBOX_IMAGE,
    "envs2",
    "sh",
    "-c",
    "echo env-marker; env",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^env-marker\n/);
  check("run", run.stdout, ["PATH=/bin"]);
  if (shim.name === "denki") {
    const wasm = await c.ctr(["run", "--rm", ...runFlags(c, shim), WASM_IMAGE, "envs3"]);
    assert.equal(wasm.stdout, HELLO + WASM_IMAGE_ENV.map((e) => `${e}\n`).join(""), wasm.stderr);
  }
  await removeTask(c, id);
}, { env: { [SECRET]: "leak-a1b2" } });

T("two containers with one sandbox-id share one shim; a third gets its own", async (c, shim) => {
  const sandbox = ["io.kubernetes.cri.sandbox-id=pod1", "io.kubernetes.cri.container-type=sandbox"];
  const member = [
    "io.kubernetes.cri.sandbox-id=pod1",
    "io.kubernetes.cri.container-type=container",
  ];
  const ann = (a: string[]) => a.flatMap((x) => ["--annotation", x]);
  const pod = await runDetached(c, shim, "pod1", SLEEPER, { extra: ann(sandbox) });
  const app = await runDetached(c, shim, "app1", SLEEPER, { extra: ann(member) });
  const address = (id: string) => Deno.readTextFileSync(`${bundleOf(c, id)}/address`).trim();
  assert.equal(address("app1"), address("pod1"), "one shim socket for the pod");
  const daemons = daemonsOf(c, shim);
  assert.equal(daemons.length, 1, `one shim daemon, got pids ${daemons}`);
  assert.ok(descendsFrom(pod.pid, daemons[0]!), "the shim is the sandbox's ancestor");
  assert.ok(descendsFrom(app.pid, daemons[0]!), "the shim is the member's ancestor");

  const other = await runDetached(c, shim, "other1", SLEEPER);
  assert.notEqual(address("other1"), address("pod1"), "no annotation: a shim of its own");
  assert.equal(shimDaemons(c.ns).length, 2);
  assert.ok(!descendsFrom(other.pid, daemons[0]!));

  const ex = await exec(c, "app1", "x", "echo grouped-exec; exit 6");
  assert.equal(ex.stdout, "grouped-exec\n", ex.stderr);
  assert.equal(ex.code, 6);
  // The member goes first; the pod's shim keeps serving the sandbox.
  await removeTask(c, "app1");
  assert.ok(alive(daemons[0]!), "the pod's shim outlives one of its containers");
  assert.equal(await taskStatus(c, "pod1"), "RUNNING");
  await removeTask(c, "pod1");
  await removeTask(c, "other1");
  for (const id of ["pod1", "app1", "other1"]) assertGone(c, shim, id);
  await waitFor("the shims to exit", () => shimDaemons(c.ns).length === 0);
});

T("a shim killed with SIGKILL leaves nothing ctr cannot clean", async (c, shim) => {
  const id = "orphan";
  const { pid } = await runDetached(c, shim, id, SLEEPER);
  const [daemon] = daemonsOf(c, shim);
  assert.ok(daemon !== undefined);
  const address = Deno.readTextFileSync(`${bundleOf(c, id)}/address`);
  Deno.kill(daemon, "SIGKILL");
  await waitFor("the shim to die", () => !alive(daemon));
  // containerd sees the connection drop and cleans up through `<shim> delete`; with the runc
  // shim the task is then gone from `ctr task ls` (ctr task delete says "not found").
  await waitFor("containerd to notice", async () => (await taskStatus(c, id)) !== "RUNNING");
  if ((await tasks(c)).has(id)) {
    const del = await c.ctr(["task", "delete", "--force", id]);
    assert.equal(del.code, 0, `ctr task delete: ${del.stderr}\n${c.logTail()}`);
  }
  assert.ok(!(await tasks(c)).has(id), "no task left");
  const cdel = await c.ctr(["container", "delete", id]);
  assert.equal(cdel.code, 0, `ctr container delete: ${cdel.stderr}`);
  await waitFor("the container's process to go", () => !alive(pid));
  // containerd's clean-up of a dead shim (`<shim> delete`, then the bundle) runs in the
  // background; it has a few seconds.
  const bundle = bundleOf(c, id);
  const rootfsMounts = () =>
    mountsUnder(
      c.pid === undefined ? "" : Deno.readTextFileSync(`/proc/${c.pid}/mountinfo`),
      bundle,
    );
  await waitFor("the bundle's mounts to go", () => rootfsMounts().length === 0).catch(() => {
    assert.fail(`mounts left in containerd's namespace: ${rootfsMounts()}\n${c.logTail()}`);
  });
  await waitFor("containerd to remove the bundle", () => !exists(bundle));
  assert.deepEqual(mountsUnder(Deno.readTextFileSync("/proc/self/mountinfo"), c.dir), []);
  assertGone(c, shim, id);
  assert.deepEqual(shimDaemons(c.ns), []);
  if (shim.name === "denki") {
    // containerd's runc shim leaves its socket; denki's `delete` removes a dead daemon's.
    assert.ok(!exists(c.hostView(socketOfAddress(address))), "the dead shim's socket is removed");
  }
});

T("malformed and unknown ttrpc requests get an error or a closed connection", async (c, shim) => {
  const id = "ttrpc";
  const { pid } = await runDetached(c, shim, id, SLEEPER);
  const [daemon] = daemonsOf(c, shim);
  assert.ok(daemon !== undefined);
  // `<tmp>/run/containerd/s/<64 hex>` is longer than sun_path: connect through a short link.
  const path = c.hostView(socketOfAddress(Deno.readTextFileSync(`${bundleOf(c, id)}/address`)));
  const link = `${c.dir}/s`;
  Deno.symlinkSync(path.slice(0, path.lastIndexOf("/")), link);
  const socket = `${link}/${path.slice(path.lastIndexOf("/") + 1)}`;

  const conn = await TtrpcConn.connect(socket);
  try {
    // A well-formed State first: the client and the socket are right.
    const state = await conn.call(1, TASK, "State", stateRequest(id));
    assert.ok(state !== "closed" && state.code === 0, JSON.stringify(state));
    assert.ok(new TextDecoder().decode(state.payload).includes(id), "StateResponse names the task");
    // Well-formed frames naming nothing the shim serves: an error status on the same stream,
    // and the connection goes on serving.
    for (
      const [stream, service, method, what] of [
        [3, TASK, "NoSuchMethod", "an unknown method"],
        [5, "no.such.Service", "State", "an unknown service"],
      ] as const
    ) {
      const a = await conn.call(stream, service, method, stateRequest(id));
      assert.ok(a !== "closed", `${what}: the shim closed the connection`);
      assert.equal(a.stream, stream, `${what}: the answer is on the request's stream`);
      assert.notEqual(a.code, 0, `${what}: an error status`);
    }
    const again = await conn.call(7, TASK, "State", stateRequest(id));
    assert.ok(
      again !== "closed" && again.code === 0,
      `State after the errors: ${JSON.stringify(again)}`,
    );
  } finally {
    conn.close();
  }
  // containerd's runc shim (Go ttrpc) neither answers nor closes some of these until the
  // connection's other end goes away; denki's shim is held to "answer or close".
  const silenceOk = shim.name === "runc-control";
  for (const [what, bytes] of garbage(id)) {
    const g = await TtrpcConn.connect(socket);
    try {
      await g.send(bytes);
      await g.closeWrite();
      const a = await g.next(5_000).catch((err): "silent" => {
        if (silenceOk) return "silent";
        throw new Error(`${what}: ${err.message}`);
      });
      assert.ok(typeof a === "string" || a.code !== 0, `${what}: ${JSON.stringify(a)}`);
    } finally {
      g.close();
    }
    assert.ok(alive(daemon), `the shim survived ${what}`);
  }
  assert.deepEqual((await tasks(c)).get(id), { pid, status: "RUNNING" });
  const ex = await exec(c, id, "after", "echo still-served; exit 0");
  assert.equal(ex.stdout, "still-served\n", ex.stderr);
  await removeTask(c, id);
  assertGone(c, shim, id);
});
