/**
 * containerd drives denki: Debian's containerd 1.6 and its runc v2 shim run containers from
 * images the test builds itself (busybox-static, and a Wasm module), with denki as the shim's
 * runtime reached two ways (see tests/support/containerd.ts): `ctr run --runc-binary`, and as
 * `runc` on containerd's PATH (the binary the shim runs when the client names none). Every
 * case runs on both routes, each with its own containerd, namespace and temp dir, all removed
 * afterwards; a case that leaves a task, container, shim, mount or cgroup behind fails.
 */
import assert from "node:assert/strict";
import {
  BUSYBOX_IMAGE,
  type Containerd,
  CONTAINERD_REQS,
  type Route,
  runFor,
  WASM_IMAGE,
  WASM_IMAGE_ENV,
  withContainerd,
} from "./support/containerd.ts";
import { program, testWith } from "./support/requires.ts";
import { cgroupHierarchies, cgroupsNamed } from "./support/cgroup_cleanup.ts";
import { assertPsIsCgroup, cgroupOf, tasks, taskStatus, v1Mount, waitFor } from "./support/shim.ts";

const ROUTES: Route[] = ["runc-binary", "path"];

/** `ctr run -d` of the busybox image; returns the task's pid. */
async function runDetached(
  c: Containerd,
  route: Route,
  id: string,
  args: string[],
  extra: string[] = [],
): Promise<number> {
  const r = await c.ctr([
    "run",
    "-d",
    ...c.runtimeFlags(route),
    ...extra,
    BUSYBOX_IMAGE,
    id,
    ...args,
  ]);
  assert.equal(r.code, 0, `ctr run -d ${id}: ${r.stderr}\n${c.logTail()}`);
  const task = (await tasks(c)).get(id);
  assert.ok(task, `task ${id} is listed`);
  assert.equal(task.status, "RUNNING");
  return task.pid;
}

/** Kills a detached task, deletes it and its container, as a user of ctr does. */
async function removeTask(c: Containerd, id: string): Promise<void> {
  const kill = await c.ctr(["task", "kill", "-s", "SIGKILL", id]);
  assert.equal(kill.code, 0, kill.stderr);
  await waitFor(`${id} to stop`, async () => (await taskStatus(c, id)) === "STOPPED");
  const del = await c.ctr(["task", "delete", id]);
  assert.equal(del.code, 0, del.stderr);
  const cdel = await c.ctr(["container", "delete", id]);
  assert.equal(cdel.code, 0, cdel.stderr);
}

/** Proves that denki, not runc, made container `id`, with the root `route` gives it. */
function assertDenkiCreated(c: Containerd, route: Route, id: string): void {
  assert.equal(
    c.rootOfCreate(id),
    c.stateRoot(route),
    `the shim ran denki create for ${id} with --root ${c.stateRoot(route)}`,
  );
}

function T(name: string, fn: (c: Containerd, route: Route) => Promise<void>): void {
  for (const route of ROUTES) {
    testWith(
      `containerd [${route}]: ${name}`,
      CONTAINERD_REQS,
      () => withContainerd((c) => fn(c, route)),
    );
  }
}

T("ctr run --rm: the workload's output and exit status", async (c, route) => {
  const r = await c.ctr([
    "run",
    "--rm",
    ...c.runtimeFlags(route),
    BUSYBOX_IMAGE,
    "rm1",
    "sh",
    "-c",
    "echo hi; exit 3",
  ]);
  assert.equal(r.stdout, "hi\n", r.stderr);
  assert.equal(r.code, 3, r.stderr);
  assertDenkiCreated(c, route, "rm1");
  assert.equal((await c.ctr(["container", "ls", "-q"])).stdout, "", "--rm removed the container");
  assert.deepEqual(cgroupsNamed(c.ns), [], "denki removed the container's cgroups");
});

T("run -d, task ps, pause, resume, kill, delete", async (c, route) => {
  const id = "life";
  const pid = await runDetached(c, route, id, ["sh", "-c", "sleep 1000 & wait"]);
  assertDenkiCreated(c, route, id);
  const root = c.stateRoot(route);
  const state = JSON.parse((await c.denkiAt(root, ["state", id])).stdout);
  assert.equal(state.pid, pid, "containerd's task pid is denki's init pid");
  assert.equal(state.status, "running");

  // The shim gets the pid list from `denki ps --format json`.
  await assertPsIsCgroup(c, id, pid, 2);

  const pause = await c.ctr(["task", "pause", id]);
  assert.equal(pause.code, 0, pause.stderr);
  assert.equal(await taskStatus(c, id), "PAUSED");
  assert.equal(JSON.parse((await c.denkiAt(root, ["state", id])).stdout).status, "paused");
  const freezer = v1Mount("freezer");
  if (freezer) {
    assert.equal(Deno.readTextFileSync(`${freezer}/${c.ns}/${id}/freezer.state`).trim(), "FROZEN");
  }
  const resume = await c.ctr(["task", "resume", id]);
  assert.equal(resume.code, 0, resume.stderr);
  assert.equal(await taskStatus(c, id), "RUNNING");

  await removeTask(c, id);
  const gone = await c.denkiAt(root, ["state", id]);
  assert.equal(gone.code, 1, "the shim deleted the denki container");
  assert.deepEqual(cgroupsNamed(c.ns), [], "denki removed the container's cgroups");
});

T("ctr run --memory-limit: the limit is in the container's memory cgroup", async (c, route) => {
  const id = "mem";
  const limit = 32 * 1024 * 1024;
  const pid = await runDetached(c, route, id, ["sleep", "1000"], ["--memory-limit", String(limit)]);
  // The root the shim gives denki, found the way an operator would: from denki's arguments.
  const root = c.rootOfCreate(id);
  assert.equal(root, c.stateRoot(route));
  const state = JSON.parse((await c.denkiAt(root!, ["state", id])).stdout);
  assert.equal(state.pid, pid);
  const cg = cgroupOf(pid);
  const memory = v1Mount("memory");
  if (memory !== undefined) {
    assert.equal(cg.get("memory"), `/${c.ns}/${id}`, "ctr's cgroupsPath /<namespace>/<id>");
    assert.equal(
      Deno.readTextFileSync(`${memory}${cg.get("memory")}/memory.limit_in_bytes`).trim(),
      String(limit),
    );
  } else {
    // A cgroup2-only host: the one hierarchy is the unified one.
    const unified = cgroupHierarchies()[0]!;
    assert.equal(Deno.readTextFileSync(`${unified}${cg.get("")}/memory.max`).trim(), String(limit));
  }
  await removeTask(c, id);
  assert.deepEqual(cgroupsNamed(c.ns), []);
});

const HELLO = "Hello from a denki Wasm container. My environment:\n";

T("a Wasm image runs its module entrypoint on denki's Wasm executor", async (c, route) => {
  // ctr does not carry image manifest annotations into the runtime spec, so denki picks its
  // Wasm executor from the module's magic bytes; the second run sets the annotation as a
  // CRI client (or `ctr run --annotation`) does.
  const plain = await c.ctr(["run", "--rm", ...c.runtimeFlags(route), WASM_IMAGE, "w1"]);
  assert.equal(plain.code, 0, `${plain.stderr}\n${c.logTail()}`);
  assert.equal(plain.stdout, HELLO + WASM_IMAGE_ENV.map((e) => `${e}\n`).join(""));
  assertDenkiCreated(c, route, "w1");
  const annotated = await c.ctr([
    "run",
    "--rm",
    ...c.runtimeFlags(route),
    "--annotation",
    "module.wasm.image/variant=compat",
    WASM_IMAGE,
    "w2",
  ]);
  assert.equal(annotated.code, 0, annotated.stderr);
  assert.equal(annotated.stdout, plain.stdout);
  assert.deepEqual(cgroupsNamed(c.ns), []);
});

T("ctr task exec runs a process in a detached container", async (c, route) => {
  const id = "ex";
  await runDetached(c, route, id, ["sleep", "1000"]);
  const r = await c.ctr([
    "task",
    "exec",
    "--fifo-dir",
    c.fifoDir,
    "--exec-id",
    "x",
    id,
    "sh",
    "-c",
    "echo from-exec; exit 4",
  ]);
  assert.equal(r.stdout, "from-exec\n", r.stderr);
  assert.equal(r.code, 4, "ctr task exec exits with the process's status");
  assert.match(
    Deno.readTextFileSync(c.calls),
    /(^|\n)--root \S+ --log \S+ --log-format json exec /,
  );
  await removeTask(c, id);
});

T("a denki error reaches ctr's message through the JSON log", async (c, route) => {
  const r = await c.ctr([
    "run",
    "--rm",
    ...c.runtimeFlags(route),
    BUSYBOX_IMAGE,
    "bad",
    "/no/such/program",
  ]);
  assert.notEqual(r.code, 0);
  // denki's one line, as the shim read it from `--log <bundle>/log.json --log-format json`
  // (without a parsable log it says "unable to retrieve OCI runtime error").
  assert.match(
    r.stderr,
    /OCI runtime create failed: exec: "\/no\/such\/program": stat \/no\/such\/program: no such file or directory/,
  );
  assertDenkiCreated(c, route, "bad");
  assert.equal((await c.ctr(["container", "ls", "-q"])).stdout, "");
  assert.deepEqual(cgroupsNamed(c.ns), []);
});

const TTY_REQS = [...CONTAINERD_REQS, program("script")];

for (const route of ROUTES) {
  testWith(
    `containerd [${route}]: ctr run -t gives the workload a terminal`,
    TTY_REQS,
    () =>
      withContainerd(async (c) => {
        // ctr -t needs a terminal of its own: script(1) runs it on a fresh pty.
        const ctr = [
          "ctr",
          "-a",
          c.socket,
          "-n",
          c.ns,
          "run",
          "--rm",
          "-t",
          ...c.runtimeFlags(route),
          BUSYBOX_IMAGE,
          "tty1",
          "sh",
          "-c",
          "test -t 0 && test -t 1 && echo tty-yes; exit 5",
        ].map((a) => `'${a}'`).join(" ");
        const out = await runFor("script", ["-q", "-e", "-c", ctr, "/dev/null"], 60_000);
        // The pty turns \n into \r\n and script's own pty adds another \r (runc's run reads
        // the same, NUL from ctr's console setup included).
        assert.match(out.stdout, /tty-yes\r*\n/, out.stderr);
        assert.equal(out.code, 5);
        assertDenkiCreated(c, route, "tty1");
      }),
  );
}
