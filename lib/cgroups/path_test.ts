import assert from "node:assert/strict";
import { MemoryIo } from "./io.ts";
import { parseLayout } from "./layout.ts";
import { Cgroup, type CgroupRecord } from "./manager.ts";
import { MemoryParentBook } from "./parents.ts";
import { containerCgroupPath, parseProcCgroup, placeCgroup } from "./path.ts";

const HYBRID = [
  "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
  "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset",
  "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
  "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
  "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate",
].join("\n");

/** A caller in its own cgroup /t on every hierarchy but memory (and cpuset at the root). */
const HYBRID_SELF = [
  "9:name=systemd:/t",
  "8:pids:/t",
  "4:memory:/outer/job:1",
  "3:cpuset:/",
  "2:cpu,cpuacct:/t",
  "0::/t",
].join("\n");

const UNIFIED = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate";

function hybridIo(): MemoryIo {
  const io = new MemoryIo();
  io.files.set("/sys/fs/cgroup/cpuset/cpuset.cpus", "0-1\n");
  io.files.set("/sys/fs/cgroup/cpuset/cpuset.mems", "0\n");
  for (
    const d of [
      "/sys/fs/cgroup/cpu,cpuacct/t",
      "/sys/fs/cgroup/memory/outer",
      "/sys/fs/cgroup/memory/outer/job:1",
      "/sys/fs/cgroup/pids/t",
      "/sys/fs/cgroup/systemd/t",
      "/sys/fs/cgroup/unified/t",
    ]
  ) io.dirs.add(d);
  return io;
}

Deno.test('parseProcCgroup: every controller of a line, v2 under "", colons in paths', () => {
  const own = parseProcCgroup(HYBRID_SELF + "\nbad line\n5:devices:relative\n");
  assert.equal(own.get("cpu"), "/t");
  assert.equal(own.get("cpuacct"), "/t");
  assert.equal(own.get("memory"), "/outer/job:1");
  assert.equal(own.get("name=systemd"), "/t");
  assert.equal(own.get(""), "/t");
  assert.equal(own.has("devices"), false, "a path that is not absolute is ignored");
});

Deno.test("placeCgroup: v1 below the caller, v2 below its parent, hybrid v2 at the top", () => {
  assert.equal(placeCgroup("c1", "v1", "/t"), "/t/c1");
  assert.equal(placeCgroup("c1", "v1", "/"), "/c1");
  assert.equal(placeCgroup("a/b", "v1", "/t/u"), "/t/u/a/b");
  assert.equal(
    placeCgroup("c1", "unified", "/user.slice/user-0.slice/session-1.scope"),
    "/user.slice/user-0.slice/c1",
  );
  assert.equal(placeCgroup("c1", "unified", "/t"), "/c1");
  assert.equal(placeCgroup("c1", "unified", "/"), "/c1");
  assert.equal(placeCgroup("c1", "hybrid-unified", "/t/u"), "/c1");
  // Unknown own cgroup: the root.
  assert.equal(placeCgroup("c1", "v1", undefined), "/c1");
  // Absolute paths ignore the caller.
  assert.equal(placeCgroup("/k8s/c1", "v1", "/t"), "/k8s/c1");
  assert.equal(placeCgroup("/k8s/c1", "unified", "/a/b"), "/k8s/c1");
});

Deno.test("placement on a hybrid host: each hierarchy below the caller's own cgroup", () => {
  const io = hybridIo();
  const layout = parseLayout(HYBRID, "hugetlb", HYBRID_SELF);
  const cg = Cgroup.create(layout, containerCgroupPath(undefined, "c1", false), io);
  assert.deepEqual(cg.rec.v1, {
    cpu: "/sys/fs/cgroup/cpu,cpuacct/t/c1",
    cpuacct: "/sys/fs/cgroup/cpu,cpuacct/t/c1",
    cpuset: "/sys/fs/cgroup/cpuset/c1",
    memory: "/sys/fs/cgroup/memory/outer/job:1/c1",
    pids: "/sys/fs/cgroup/pids/t/c1",
    "name=systemd": "/sys/fs/cgroup/systemd/t/c1",
  });
  assert.equal(cg.rec.v2, "/sys/fs/cgroup/unified/c1", "runc 1.1: hybrid v2 at the top");
  assert.equal(cg.rec.path, "/outer/job:1/c1", "the memory hierarchy's path is the one shown");
  // Only the leaves were made: the caller's cgroups are not denki's.
  assert.deepEqual(cg.rec.created.sort(), [...cg.dirs()].sort());
  assert.equal(cg.rec.mounts?.["/sys/fs/cgroup/pids/t/c1"], "/sys/fs/cgroup/pids");
});

Deno.test("placement: a relative path's parents are denki's and go on delete; the caller's stay", async () => {
  const io = hybridIo();
  const book = new MemoryParentBook();
  const layout = parseLayout(HYBRID, "", HYBRID_SELF);
  const a = Cgroup.create(layout, containerCgroupPath("pod/a", "a", false), io, book);
  const b = Cgroup.create(layout, containerCgroupPath("pod/b", "b", false), io, book);
  assert.equal(a.rec.v1.pids, "/sys/fs/cgroup/pids/t/pod/a");
  assert.equal(a.rec.v2, "/sys/fs/cgroup/unified/pod/a");
  assert.ok(book.dirs.has("/sys/fs/cgroup/pids/t/pod"));
  assert.ok(book.dirs.has("/sys/fs/cgroup/memory/outer/job:1/pod"));
  assert.ok(!book.dirs.has("/sys/fs/cgroup/pids/t"), "the caller's cgroup is not recorded");
  await a.remove();
  assert.ok(io.dirs.has("/sys/fs/cgroup/pids/t/pod"), "b still uses it");
  await b.remove();
  const left = [...io.dirs].filter((d) => d.includes("/pod")).sort();
  assert.deepEqual(left, []);
  for (const d of ["/sys/fs/cgroup/pids/t", "/sys/fs/cgroup/memory/outer/job:1"]) {
    assert.ok(io.dirs.has(d), `${d} is the caller's and stays`);
  }
  assert.deepEqual([...book.dirs], []);
});

Deno.test("placement on a v2 host: below the parent of the caller's cgroup; controllers from the top", () => {
  const io = new MemoryIo();
  io.dirs.add("/sys/fs/cgroup/user.slice");
  io.dirs.add("/sys/fs/cgroup/user.slice/session-1.scope");
  const layout = parseLayout(UNIFIED, "memory pids", "0::/user.slice/session-1.scope\n");
  const cg = Cgroup.create(layout, "c1", io);
  assert.equal(cg.rec.v2, "/sys/fs/cgroup/user.slice/c1");
  assert.equal(cg.rec.path, "/user.slice/c1");
  assert.deepEqual(cg.rec.created, ["/sys/fs/cgroup/user.slice/c1"]);
  cg.apply({ pids: { limit: 5 } }, { devices: false });
  assert.deepEqual(io.writes.filter((w) => w.includes("subtree_control")), [
    "/sys/fs/cgroup/cgroup.subtree_control=+pids",
    "/sys/fs/cgroup/user.slice/cgroup.subtree_control=+pids",
  ]);
  assert.ok(io.writes.includes("/sys/fs/cgroup/user.slice/c1/pids.max=5"));
});

Deno.test("placement under a cgroup namespace: paths below the mount's root", () => {
  const io = new MemoryIo();
  const layout = parseLayout(
    "50 1 0:26 /outer /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids",
    "",
    "8:pids:/outer/me\n",
  );
  const cg = Cgroup.create(layout, "c1", io);
  assert.equal(cg.rec.v1.pids, "/sys/fs/cgroup/pids/me/c1");
});

Deno.test("records written before per-hierarchy placement still delete cleanly", async () => {
  const io = new MemoryIo();
  for (const d of ["/sys/fs/cgroup/pids/denki", "/sys/fs/cgroup/pids/denki/c1"]) io.dirs.add(d);
  const rec: CgroupRecord = {
    path: "/denki/c1",
    v1: { pids: "/sys/fs/cgroup/pids/denki/c1" },
    v2Controllers: [],
    created: ["/sys/fs/cgroup/pids/denki", "/sys/fs/cgroup/pids/denki/c1"],
  };
  await new Cgroup(rec, io).remove();
  assert.deepEqual([...io.dirs], []);
});
