/**
 * Review findings on the shim's Task service (lib/shim/service.ts), driven in-process: the
 * service with the real lifecycle under a temp state root and a busybox bundle, no containerd.
 * The lifecycle re-runs "this program" for the container init (lib/self.ts), so each case
 * runs in a driver module written to a temp dir (with bin/deno-flags beside it) that is
 * denki's main when called with arguments and the case when called with none.
 *
 * Both cases failed against the code the review of issue 14 read (the Wait hung; the hook
 * held the container's stdout fifo) and pass since the fixes.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS } from "./support/container.ts";

const REPO = new URL("..", import.meta.url).pathname;
const missing = CONTAINER_REQS.filter((r): r is string => r !== undefined);

/** The module header every driver shares: denki's main with arguments, the case without. */
const HEADER = `
import { main } from "${REPO}main.ts";
if (Deno.args.length > 0) Deno.exit(await main(Deno.args));
import { ExecutorRegistry } from "${REPO}lib/executor_registry.ts";
import { registerExecutors } from "${REPO}executors/mod.ts";
import { Logger } from "${REPO}lib/log.ts";
import { Publisher } from "${REPO}lib/shim/events.ts";
import { Reaper } from "${REPO}lib/shim/reaper.ts";
import { TaskService } from "${REPO}lib/shim/service.ts";
import { Lab } from "${REPO}tests/support/container.ts";
const lab = new Lab();
Deno.mkdirSync(lab.root, { recursive: true });
const registry = new ExecutorRegistry();
registerExecutors(registry);
const log = new Logger({ format: "json", debug: false });
const svc = new TaskService({
  namespace: "review", root: lab.root, executors: registry,
  publisher: new Publisher("", "review", log), reaper: new Reaper(), log, shutdown: () => {},
});
const io = { terminal: false, stdin: "", stdout: "", stderr: "" };
const task = { ...io, rootfs: [], checkpoint: "", parentCheckpoint: "" };
const result: Record<string, unknown> = {};
try {
`;
const FOOTER = `
} catch (e) {
  result.error = String(e);
} finally {
  await lab.cleanup();
}
console.log(JSON.stringify(result));
Deno.exit(0);
`;

/** Runs one case body in a driver; returns what it put in `result`. */
async function drive(body: string): Promise<Record<string, unknown>> {
  const dir = Deno.makeTempDirSync({ prefix: "denki-shim-review-" });
  try {
    Deno.mkdirSync(`${dir}/bin`);
    Deno.copyFileSync(`${REPO}bin/deno-flags`, `${dir}/bin/deno-flags`);
    Deno.writeTextFileSync(`${dir}/driver.ts`, HEADER + body + FOOTER);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", "--no-lock", "--quiet", `${dir}/driver.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    assert.ok(out.success, new TextDecoder().decode(out.stderr).slice(-2000));
    return JSON.parse(text);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const ignore = missing.length > 0;
const why = missing.length > 0 ? ` [skipped: ${missing.join(", ")}]` : "";

Deno.test({
  name: `shim: Wait on an exec whose Start failed settles, as runc's shim does${why}`,
  ignore,
  fn: async () => {
    const got = await drive(`
  const b = lab.bundle((c) => (c.process.args = ["sleep", "30"]));
  await svc.create({ ...task, id: "t1", bundle: b.dir });
  await svc.start({ id: "t1", execId: "" });
  const spec = { ...b.config.process, args: ["sh", "-c", "echo never"] };
  const value = new TextEncoder().encode(JSON.stringify(spec));
  const typeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Process";
  await svc.exec({ ...io, id: "t1", execId: "e1", spec: { typeUrl, value } });
  const waiting = svc.wait({ id: "t1", execId: "e1" });
  // The init goes first; then containerd starts the exec (an exec racing the task's end).
  await svc.kill({ id: "t1", execId: "", signal: 9, all: false });
  await svc.wait({ id: "t1", execId: "" });
  result.start = await svc.start({ id: "t1", execId: "e1" }).then(() => "ok", (e) => String(e));
  await svc.delete({ id: "t1", execId: "e1" });
  result.wait = await Promise.race([
    waiting.then(() => "settled"),
    new Promise((r) => setTimeout(() => r("pending"), 2000)),
  ]);
  await svc.delete({ id: "t1", execId: "" });
`);
    assert.equal(got.error, undefined);
    assert.notEqual(got.start, "ok", "the exec must not start in a stopped task");
    assert.equal(got.wait, "settled", "Wait of an exec that failed to start never returns");
  },
});

Deno.test({
  name: `shim: a createRuntime hook does not inherit the container's stdio fds${why}`,
  ignore,
  fn: async () => {
    const got = await drive(`
  const fifo = lab.dir + "/out.fifo";
  const made = new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
  if (!made.success) throw new Error("mkfifo");
  const seen = lab.dir + "/hook-fds.txt";
  const b = lab.bundle((c) => {
    c.process.args = ["sleep", "30"];
    c.hooks = { createRuntime: [{
      path: "/bin/busybox",
      args: ["busybox", "sh", "-c", "ls -l /proc/$$/fd/ > " + seen],
    }] };
  });
  await svc.create({ ...task, id: "t2", bundle: b.dir, stdout: fifo, stderr: fifo });
  try {
    const listing = Deno.readTextFileSync(seen);
    result.listed = listing.includes("/proc") || listing.includes("->");
    result.leaked = listing.split("\\n").filter((l) => l.includes(fifo));
  } finally {
    await svc.kill({ id: "t2", execId: "", signal: 9, all: false });
    await svc.wait({ id: "t2", execId: "" });
    await svc.delete({ id: "t2", execId: "" });
  }
`);
    assert.equal(got.error, undefined);
    assert.equal(got.listed, true, "the hook ran and listed its fds");
    assert.deepEqual(got.leaked, [], "the hook holds the container's stdout fifo open");
  },
});
