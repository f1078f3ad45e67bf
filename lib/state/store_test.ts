import assert from "node:assert/strict";
import { StateStore } from "./store.ts";
import { acquire, claim } from "./lock.ts";
import { sampleRecord } from "./testing.ts";

function withRoot(fn: (root: string) => void | Promise<void>) {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "denki-store-" });
    try {
      await fn(`${dir}/root`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

Deno.test(
  "store: create, write, read, list, remove",
  withRoot((root) => {
    const store = new StateStore(root);
    assert.deepEqual(store.list(), [], "missing root lists nothing");
    const lock = claim(store, "c1");
    assert.deepEqual(store.list(), [], "a container without state is not listed yet");
    assert.throws(() => store.read("c1"), { message: 'container "c1" does not exist' });
    store.write(lock, sampleRecord("c1"));
    lock.release();
    assert.equal(Deno.statSync(root).mode! & 0o777, 0o700);
    assert.deepEqual(store.read("c1"), sampleRecord("c1"));
    assert.deepEqual(store.list().map((e) => e.id), ["c1"]);
    assert.deepEqual([...Deno.readDirSync(`${root}/c1`)].map((e) => e.name), ["state.json"]);
    const again = acquire(store, "c1");
    store.remove(again);
    assert.ok(!again.held);
    assert.throws(() => store.read("c1"), { name: "ContainerNotFound" });
    assert.throws(() => acquire(store, "c1"), { name: "ContainerNotFound" });
    assert.deepEqual(store.list(), []);
  }),
);

Deno.test(
  "store: a second create of the same id fails, a leftover without state is reused",
  withRoot((root) => {
    const store = new StateStore(root);
    const lock = claim(store, "c1");
    store.write(lock, sampleRecord("c1"));
    lock.release();
    assert.throws(() => claim(store, "c1"), {
      name: "ContainerExists",
      message: 'container "c1" already exists',
    });
    Deno.mkdirSync(`${root}/dead`);
    const reused = claim(store, "dead");
    assert.equal(reused.dir, `${root}/dead`);
    reused.release();
  }),
);

Deno.test(
  "store: bad ids are refused before any file is touched",
  withRoot((root) => {
    const store = new StateStore(root);
    assert.throws(() => claim(store, "../escape"), { message: /invalid container id/ });
    assert.throws(() => store.read("a/b"), { message: /invalid container id/ });
    assert.throws(() => Deno.statSync(root), Deno.errors.NotFound);
  }),
);

Deno.test(
  "store: corrupt and foreign state files are clear errors, list skips them",
  withRoot((root) => {
    const store = new StateStore(root);
    Deno.mkdirSync(`${root}/c1`, { recursive: true });
    Deno.writeTextFileSync(`${root}/c1/state.json`, '{"truncated');
    Deno.mkdirSync(`${root}/c2`);
    Deno.writeTextFileSync(`${root}/c2/state.json`, JSON.stringify(sampleRecord("other")));
    assert.throws(() => store.read("c1"), {
      message: new RegExp(`^corrupt state file ${root}/c1/state.json: not JSON`),
    });
    assert.throws(() => store.read("c2"), {
      message: `corrupt state file ${root}/c2/state.json: it belongs to container "other"`,
    });
    const entries = store.list();
    assert.deepEqual(entries.map((e) => [e.id, "error" in e]), [["c1", true], ["c2", true]]);
  }),
);

Deno.test(
  "store: writes never leave a partial file behind",
  withRoot((root) => {
    const store = new StateStore(root);
    const lock = claim(store, "c1");
    for (let i = 0; i < 20; i++) store.write(lock, { ...sampleRecord("c1"), pid: i });
    lock.release();
    assert.equal(store.read("c1").pid, 19);
    assert.deepEqual([...Deno.readDirSync(`${root}/c1`)].map((e) => e.name), ["state.json"]);
  }),
);

Deno.test(
  "store: concurrent creates of one id from separate processes: exactly one wins",
  withRoot(async (root) => {
    const storeUrl = new URL("./store.ts", import.meta.url).href;
    const lockUrl = new URL("./lock.ts", import.meta.url).href;
    const code = `
      import { StateStore } from ${JSON.stringify(storeUrl)};
      import { claim } from ${JSON.stringify(lockUrl)};
      const store = new StateStore(${JSON.stringify(root)});
      try {
        const lock = claim(store, "same");
        await new Promise((r) => setTimeout(r, 50));
        store.write(lock, { ociVersion: "1.3.0", id: "same", pid: Deno.pid, pidStartTime: 1,
          status: "created", bundle: "/b", rootfs: "/b/r", created: "t", owner: "root",
          annotations: {} });
        lock.release();
        console.log("won");
      } catch (err) {
        console.log(err.name);
      }`;
    const runs = Array.from({ length: 8 }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-config", code],
        stdout: "piped",
        stderr: "inherit",
      }).output());
    const outs = (await Promise.all(runs)).map((o) => new TextDecoder().decode(o.stdout).trim());
    assert.deepEqual(outs.filter((o) => o === "won").length, 1, outs.join(","));
    assert.deepEqual(outs.filter((o) => o === "ContainerExists").length, 7, outs.join(","));
    const winner = new StateStore(root).read("same");
    assert.equal(winner.id, "same");
  }),
);

Deno.test(
  "store: a locked container makes a second locker wait",
  withRoot(async (root) => {
    const store = new StateStore(root);
    const lock = claim(store, "c1");
    store.write(lock, sampleRecord("c1"));
    const storeUrl = new URL("./store.ts", import.meta.url).href;
    const lockUrl = new URL("./lock.ts", import.meta.url).href;
    const code = `
      import { StateStore } from ${JSON.stringify(storeUrl)};
      import { acquire } from ${JSON.stringify(lockUrl)};
      const t0 = Date.now();
      const l = acquire(new StateStore(${JSON.stringify(root)}), "c1");
      console.log(Date.now() - t0);
      l.release();`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", code],
      stdout: "piped",
    }).spawn();
    await new Promise((r) => setTimeout(r, 300));
    lock.release();
    const waited = Number(new TextDecoder().decode((await child.output()).stdout).trim());
    // The child could only get the lock after we released it (about 300 ms in).
    assert.ok(waited >= 100, `waited only ${waited} ms`);
  }),
);
