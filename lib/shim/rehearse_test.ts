import assert from "node:assert/strict";
import { rehearse } from "./rehearse.ts";
import * as sc from "../sys/syscalls.ts";
import { pollIdle } from "../sys/async_io.ts";

const fdCount = () => sc.listDir("/proc/self/fd").length;

/** This process's children, from every thread's children file. */
function children(): string[] {
  const out: string[] = [];
  for (const tid of sc.listDir("/proc/self/task")) {
    const text = Deno.readTextFileSync(`/proc/self/task/${tid}/children`).trim();
    if (text !== "") out.push(...text.split(/\s+/));
  }
  return out.sort();
}

const exists = (path: string) => {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

// The rehearsal claims a container in a state root of its own (locks, ownership): as the
// shim runs it, as root.
const NOT_ROOT = Deno.uid() === 0 ? undefined : "needs root";

/** Runs rehearse twice in a temp dir, checking after each; `check` sees the fd counts. */
async function twice(check: (round: number, fdsBefore: number, fdsAfter: number) => void) {
  const dir = await Deno.makeTempDir({ prefix: "denki-rehearse-" });
  try {
    await pollIdle();
    const kids = children();
    for (const round of [1, 2]) {
      const fds = fdCount();
      const scratch = `${dir}/scratch`;
      const t0 = performance.now();
      await rehearse(scratch);
      const ms = performance.now() - t0;
      assert.ok(!exists(scratch), `round ${round}: the scratch dir is gone`);
      await pollIdle();
      assert.deepEqual(children(), kids, `round ${round}: no process left`);
      assert.ok(ms < 30_000, `round ${round} took ${ms} ms`);
      check(round, fds, fdCount());
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing else made beside it");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "rehearse: resolves, removes its scratch dir, leaves no process; a second call too" +
    (NOT_ROOT ? ` [skipped: ${NOT_ROOT}]` : ""),
  ignore: NOT_ROOT !== undefined,
  fn: () => twice(() => {}),
});

// rehearse.ts's claimAndRemove once never closed its StateStore: 5 fds per rehearse, kept
// for the daemon's life.
Deno.test({
  name: "rehearse: leaves no fd open",
  fn: () =>
    twice((round, before, after) => assert.equal(after, before, `round ${round}: fds left`)),
});

Deno.test("rehearse: a scratch dir that cannot be made is not an error, and is left alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denki-rehearse-" });
  try {
    // It exists already (another spare's): rehearse must neither fail nor remove it.
    const scratch = `${dir}/taken`;
    Deno.mkdirSync(scratch);
    Deno.writeTextFileSync(`${scratch}/keep`, "x");
    await rehearse(scratch);
    assert.equal(Deno.readTextFileSync(`${scratch}/keep`), "x");
    // Its parent is missing.
    await rehearse(`${dir}/missing/scratch`);
    assert.ok(!exists(`${dir}/missing`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
