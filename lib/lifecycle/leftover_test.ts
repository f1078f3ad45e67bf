import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { readProcessInfo } from "../state/proc.ts";
import { claim } from "../state/lock.ts";
import { StateStore } from "../state/store.ts";
import { sampleCreating } from "../state/testing.ts";
import { claimContainer, creatingRecord, withInit } from "./leftover.ts";
import { deleteContainer } from "./stop.ts";

function withRoot(fn: (root: string, log: Logger) => Promise<void>) {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "denki-leftover-" });
    try {
      await fn(`${dir}/root`, new Logger({ file: `${dir}/log`, format: "text", debug: true }));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

/** A process to stand in for a leftover init. */
function sleeper(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
}

/** Leaves `id` as a create killed after spawning `pid` would: a creating record, a fifo. */
function leaveHalfMade(root: string, id: string, pid: number, startTime?: number): void {
  const store = new StateStore(root);
  const lock = claim(store, id);
  const rec = withInit(creatingRecord({ ...sampleCreating(id) }, undefined), pid);
  store.writeCreating(lock, startTime === undefined ? rec : { ...rec, pidStartTime: startTime });
  Deno.writeTextFileSync(`${lock.dir}/exec.fifo`, "");
  lock.release();
}

Deno.test(
  "leftover: delete kills the recorded init and removes the directory",
  withRoot(async (root, log) => {
    const init = sleeper();
    try {
      leaveHalfMade(root, "c1", init.pid);
      await deleteContainer(root, "c1", false, log);
      assert.equal((await init.status).signal, "SIGKILL");
      assert.deepEqual([...Deno.readDirSync(root)], []);
    } finally {
      try {
        init.kill("SIGKILL");
      } catch {
        // already dead
      }
    }
  }),
);

Deno.test(
  "leftover: a reused pid (another start time) is not killed",
  withRoot(async (root, log) => {
    const other = sleeper();
    try {
      const start = readProcessInfo(other.pid)!.startTime;
      leaveHalfMade(root, "c1", other.pid, start - 1);
      await deleteContainer(root, "c1", true, log);
      assert.deepEqual([...Deno.readDirSync(root)], []);
      assert.equal(readProcessInfo(other.pid)?.startTime, start, "still alive");
    } finally {
      other.kill("SIGKILL");
      await other.status;
    }
  }),
);

Deno.test(
  "leftover: a later create of the id undoes it; files denki does not make stop it",
  withRoot(async (root, log) => {
    const init = sleeper();
    try {
      leaveHalfMade(root, "c1", init.pid);
      const store = new StateStore(root);
      const lock = await claimContainer(
        store,
        creatingRecord(sampleCreating("c1"), undefined),
        log,
      );
      assert.equal((await init.status).signal, "SIGKILL");
      assert.deepEqual([...Deno.readDirSync(lock.dir)].map((e) => e.name), ["creating.json"]);
      assert.equal(store.readCreatingAt(lock.fd, "c1")?.creatorPid, Deno.pid);
      lock.release();
    } finally {
      try {
        init.kill("SIGKILL");
      } catch {
        // already dead
      }
    }
    // Someone's files in a directory without state: neither create nor delete empties it.
    Deno.mkdirSync(`${root}/c2`);
    Deno.writeTextFileSync(`${root}/c2/notes.txt`, "mine");
    const refusal = {
      message: `refusing to clear state directory ${root}/c2: it holds "notes.txt", which ` +
        "denki does not make (remove it by hand if it is no container's)",
    };
    const store = new StateStore(root);
    await assert.rejects(
      claimContainer(store, creatingRecord(sampleCreating("c2"), undefined), log),
      refusal,
    );
    await assert.rejects(deleteContainer(root, "c2", true, log), refusal);
    assert.equal(Deno.readTextFileSync(`${root}/c2/notes.txt`), "mine");
  }),
);

Deno.test(
  "leftover: delete of an id with no directory: --force says nothing, plain delete refuses",
  withRoot(async (root, log) => {
    await deleteContainer(root, "none", true, log);
    await assert.rejects(deleteContainer(root, "none", false, log), {
      message: 'container "none" does not exist',
    });
  }),
);
