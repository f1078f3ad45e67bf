import assert from "node:assert/strict";
import { StateStore } from "./store.ts";
import { acquire, claim } from "./lock.ts";
import { sampleCreating, sampleRecord } from "./testing.ts";

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
    assert.deepEqual(store.list(), [{ id: "c1", creating: undefined }], "being created");
    assert.throws(() => store.read("c1"), { message: 'container "c1" does not exist' });
    store.writeCreating(lock, sampleCreating("c1"));
    assert.deepEqual(store.list(), [{ id: "c1", creating: sampleCreating("c1") }]);
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
    assert.ok(!lock.leftover);
    // A directory without state is a dead create's: handed back marked, and left as it is
    // (only lifecycle/leftover.ts decides what in it may go).
    Deno.mkdirSync(`${root}/dead`);
    Deno.writeTextFileSync(`${root}/dead/keep`, "x");
    const reused = claim(store, "dead");
    assert.equal(reused.dir, `${root}/dead`);
    assert.ok(reused.leftover);
    assert.equal(Deno.readTextFileSync(`${root}/dead/keep`), "x");
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
    Deno.mkdirSync(`${root}/c3`);
    Deno.writeTextFileSync(`${root}/c3/creating.json`, "{}");
    assert.throws(() => store.readCreatingAt(store.openDir("c3")!, "c3"), {
      message: `corrupt state file ${root}/c3/creating.json: "id" is missing or not a string`,
    });
    const entries = store.list();
    assert.deepEqual(entries.map((e) => [e.id, "error" in e]), [
      ["c1", true],
      ["c2", true],
      ["c3", true],
    ]);
  }),
);

Deno.test(
  "store: writes never leave a partial file behind",
  withRoot((root) => {
    const store = new StateStore(root);
    const lock = claim(store, "c1");
    store.writeCreating(lock, sampleCreating("c1"));
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

Deno.test(
  "store: a state root someone else can change is refused before anything in it is used",
  withRoot((root) => {
    Deno.mkdirSync(`${root}/c1`, { recursive: true });
    Deno.writeTextFileSync(`${root}/c1/state.json`, JSON.stringify(sampleRecord("c1")));
    const refused = (what: RegExp) => {
      for (
        const use of [
          (s: StateStore) => s.read("c1"),
          (s: StateStore) => s.list(),
          (s: StateStore) => claim(s, "c2"),
          (s: StateStore) => acquire(s, "c1"),
        ]
      ) {
        assert.throws(() => use(new StateStore(root)), {
          message: new RegExp(`^refusing state root ${root}: ${what.source}$`),
        });
      }
    };
    Deno.chmodSync(root, 0o777);
    refused(/it is writable by group or others \(mode 777\)/);
    Deno.chmodSync(root, 0o720);
    refused(/it is writable by group or others \(mode 720\)/);
    Deno.chmodSync(root, 0o700);
    assert.equal(new StateStore(root).read("c1").id, "c1");
    // A directory above it that others may write (not sticky) could swap the root.
    const above = root.slice(0, root.lastIndexOf("/"));
    Deno.chmodSync(above, 0o777);
    refused(
      new RegExp(`${above} above it is writable by group or others \\(mode 777\\) and not sticky`),
    );
    Deno.chmodSync(above, 0o1777);
    assert.equal(new StateStore(root).read("c1").id, "c1", "sticky, like /tmp: fine");
    Deno.chmodSync(above, 0o700);
    assert.throws(() => new StateStore("/").list(), {
      message: "refusing state root /: it is the file system root",
    });
    assert.equal(Deno.statSync(`${root}/c1/state.json`).isFile, true, "nothing touched");
  }),
);

// Only root can give a directory to another user.
const isRoot = Deno.uid() === 0;

Deno.test({
  name: "store: a state root of another user's is refused" +
    (isRoot ? "" : " [skipped: needs root]"),
  ignore: !isRoot,
  fn: withRoot((root) => {
    Deno.mkdirSync(`${root}/c1`, { recursive: true });
    Deno.writeTextFileSync(`${root}/c1/state.json`, JSON.stringify(sampleRecord("c1")));
    Deno.chownSync(root, 65534, 65534);
    try {
      for (
        const use of [
          (s: StateStore) => s.read("c1"),
          (s: StateStore) => s.list(),
          (s: StateStore) => claim(s, "c2"),
          (s: StateStore) => acquire(s, "c1"),
        ]
      ) {
        assert.throws(() => use(new StateStore(root)), {
          message: `refusing state root ${root}: it belongs to uid 65534, not to the caller ` +
            "(uid 0) or root",
        });
      }
    } finally {
      Deno.chownSync(root, 0, 0);
    }
  }),
});

Deno.test(
  "store: a link in a container's place is refused, never followed or emptied",
  withRoot((root) => {
    const store = new StateStore(root);
    claim(store, "c0").release();
    const target = `${root}/../target`;
    Deno.mkdirSync(target);
    Deno.writeTextFileSync(`${target}/precious`, "data");
    Deno.writeTextFileSync(`${target}/state.json`, JSON.stringify(sampleRecord("c1")));
    Deno.symlinkSync(target, `${root}/c1`);
    const link = { message: `refusing state directory ${root}/c1: it is a symbolic link` };
    assert.throws(() => claim(store, "c1"), link);
    assert.throws(() => store.read("c1"), link);
    assert.throws(() => acquire(store, "c1"), link);
    assert.deepEqual(store.list().map((e) => e.id), ["c0"], "links are not listed");
    assert.equal(Deno.readTextFileSync(`${target}/precious`), "data");
    // A state file that is a link is refused the same way.
    Deno.removeSync(`${root}/c1`);
    Deno.mkdirSync(`${root}/c1`);
    Deno.symlinkSync(`${target}/state.json`, `${root}/c1/state.json`);
    assert.throws(() => store.read("c1"), {
      message: `refusing ${root}/c1/state.json: it is a symbolic link`,
    });
  }),
);
