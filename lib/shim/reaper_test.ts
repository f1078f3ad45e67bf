import assert from "node:assert/strict";
import { Reaper } from "./reaper.ts";
import * as sc from "../sys/syscalls.ts";
import { pollIdle } from "../sys/async_io.ts";

const fdCount = () => sc.listDir("/proc/self/fd").length;
const ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"];
const REAPER = new URL("./reaper.ts", import.meta.url).href;
const SYSCALLS = new URL("../sys/syscalls.ts", import.meta.url).href;

/** A program's path, from the usual directories. */
function which(name: string): string {
  for (const dir of ["/usr/bin", "/bin"]) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not there
    }
  }
  throw new Error(`${name} not found`);
}

/** The process state letter of /proc/<pid>/stat, or undefined when the pid is gone. */
function stateOf(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/** Waits until `pid` is a zombie (exited, not reaped). */
async function untilZombie(pid: number): Promise<void> {
  const end = Date.now() + 5000;
  while (stateOf(pid) !== "Z") {
    if (Date.now() > end) throw new Error(`pid ${pid} did not exit (state ${stateOf(pid)})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const spawnSh = (script: string) => sc.spawn(which("sh"), ["sh", "-c", script], ENV);

Deno.test("reaper: watch reports exit codes and 128+signal for a kill", async () => {
  await pollIdle();
  const before = fdCount();
  const reaper = new Reaper();
  const t0 = sc.clockNs(0);
  const ok = await reaper.watch(sc.spawn(which("true"), ["true"], ENV));
  assert.equal(ok.status, 0);
  assert.equal(typeof ok.at, "bigint");
  if (typeof t0 === "bigint") assert.ok(ok.at >= t0, "exit time is the wall clock at the reap");
  assert.equal((await reaper.watch(spawnSh("exit 3"))).status, 3);
  const sleeper = sc.spawn(which("sleep"), ["sleep", "100"], ENV);
  const watching = reaper.watch(sleeper);
  assert.deepEqual(reaper.pids(), [sleeper]);
  sc.kill(sleeper, 9);
  assert.equal((await watching).status, 137);
  assert.deepEqual(reaper.pids(), []);
  assert.equal(stateOf(sleeper), undefined, "reaped");
  // A TERM the child does not catch: 128 + 15.
  const termed = spawnSh("sleep 100");
  const w2 = reaper.watch(termed);
  sc.kill(termed, 15);
  assert.equal((await w2).status, 143);
  await pollIdle();
  assert.equal(fdCount(), before, "no pidfd left open");
});

Deno.test("reaper: a child that exited before watch is still reported", async () => {
  const reaper = new Reaper();
  const pid = spawnSh("exit 7");
  await untilZombie(pid);
  assert.equal((await reaper.watch(pid)).status, 7);
  assert.equal(stateOf(pid), undefined);
  // Several at once, finishing in another order than they were watched.
  const pids = [spawnSh("sleep 0.2; exit 1"), spawnSh("exit 2"), spawnSh("sleep 0.1; exit 4")];
  const exits = await Promise.all(pids.map((p) => reaper.watch(p)));
  assert.deepEqual(exits.map((e) => e.status), [1, 2, 4]);
  await pollIdle();
});

Deno.test("reaper: reapOrphans reaps unwatched zombies, not others' pids, not while paused", async () => {
  await pollIdle();
  const before = fdCount();
  const reaped: number[] = [];
  const others = new Set<number>();
  let paused = false;
  const reaper = new Reaper(() => others, () => paused, (pid) => reaped.push(pid));
  const mine = spawnSh("exit 0");
  const theirs = spawnSh("exit 0");
  others.add(theirs);
  try {
    await untilZombie(mine);
    await untilZombie(theirs);
    paused = true;
    reaper.reapOrphans();
    assert.equal(stateOf(mine), "Z", "nothing is reaped while paused");
    assert.deepEqual(reaped, []);
    paused = false;
    reaper.reapOrphans();
    assert.equal(stateOf(mine), undefined, "the unwatched zombie is reaped");
    assert.deepEqual(reaped, [mine]);
    assert.equal(stateOf(theirs), "Z", "a pid someone else waits for is left alone");
    // A running child is not touched either.
    const running = sc.spawn(which("sleep"), ["sleep", "100"], ENV);
    try {
      reaper.reapOrphans();
      const state = stateOf(running);
      assert.ok(state !== undefined && state !== "Z", `running child left alone (${state})`);
    } finally {
      sc.kill(running, 9);
      await sc.waitChild(running);
    }
    // A watch's end sweeps orphans too (its status and the zombie's are not mixed up).
    others.delete(theirs);
    assert.equal((await reaper.watch(spawnSh("exit 5"))).status, 5);
    assert.equal(stateOf(theirs), undefined);
    assert.deepEqual(reaped, [mine, theirs]);
  } finally {
    for (const pid of [mine, theirs]) if (stateOf(pid) !== undefined) await sc.waitChild(pid);
  }
  await pollIdle();
  assert.equal(fdCount(), before, "no pidfd left open");
});

// Orphans re-parent to a subreaper; the test process must not become one (other tests in this
// process would inherit orphans), so a small script does it in a process of its own.
Deno.test("reaper: as a subreaper, an orphaned grandchild is reaped and reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denki-reaper-" });
  try {
    const code = `
import { Reaper } from ${JSON.stringify(REAPER)};
import * as sc from ${JSON.stringify(SYSCALLS)};
Reaper.becomeSubreaper();
const reaped = [];
const reaper = new Reaper(() => [], () => false, (p) => reaped.push(p));
const file = ${JSON.stringify(`${dir}/grandchild`)};
const sh = sc.spawn("/bin/sh", ["sh", "-c", "sleep 0.3 & echo $! > " + file], []);
const shExit = await reaper.watch(sh);
const orphan = Number(Deno.readTextFileSync(file).trim());
const ppid = () => {
  try {
    const s = Deno.readTextFileSync("/proc/" + orphan + "/stat");
    return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
  } catch { return -1; }
};
const parent = ppid();
const end = Date.now() + 5000;
while (!reaped.includes(orphan) && Date.now() < end) {
  await new Promise((r) => setTimeout(r, 20));
  reaper.reapOrphans();
}
console.log(JSON.stringify({ self: Deno.pid, shExit: shExit.status, orphan, parent, reaped,
  gone: ppid() === -1 }));
`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, err);
    const got = JSON.parse(new TextDecoder().decode(r.stdout));
    assert.equal(got.shExit, 0);
    assert.ok(got.orphan > 0);
    assert.equal(got.parent, got.self, "the orphan was re-parented to the subreaper");
    assert.deepEqual(got.reaped, [got.orphan]);
    assert.equal(got.gone, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
