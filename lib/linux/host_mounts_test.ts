import assert from "node:assert/strict";
import {
  type HostMount,
  insideRoot,
  isRecorded,
  madeByPending,
  type MountEntry,
  mountsBelow,
  parseMountinfo,
  placesOf,
} from "./host_mounts.ts";

const MOUNTINFO = [
  "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
  "60 27 0:50 / /tmp/b/rootfs/proc rw,relatime - proc proc rw",
  "61 27 0:51 / /tmp/b/rootfs/dev rw,nosuid - tmpfs tmpfs rw,mode=755",
  "62 61 0:52 / /tmp/b/rootfs/dev/pts rw - devpts devpts rw",
  "70 27 0:53 / /tmp/b/rootfs/sys/fs/cgroup ro shared:4 - tmpfs tmpfs ro",
  "72 70 0:29 / /tmp/b/rootfs/sys/fs/cgroup/memory ro - cgroup cgroup rw,memory",
  "71 70 0:30 / /tmp/b/rootfs/sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpu",
  "73 71 0:54 / /tmp/b/rootfs/sys/fs/cgroup/cpu/x ro - tmpfs t rw",
  "80 27 0:55 / /tmp/b/rootfs/with\\040space rw - tmpfs tmpfs rw",
  "",
].join("\n");

const table = parseMountinfo(MOUNTINFO);

Deno.test("parseMountinfo: IDs, parents and unescaped mount points", () => {
  assert.equal(table.size, 9);
  assert.deepEqual(table.get(62), { id: 62, parent: 61, point: "/tmp/b/rootfs/dev/pts" });
  assert.equal(table.get(80)?.point, "/tmp/b/rootfs/with space");
  assert.equal(table.get(70)?.parent, 27, "optional fields do not shift what is read");
});

Deno.test("insideRoot: host paths to paths in the root, nothing outside it", () => {
  assert.equal(insideRoot("/tmp/b/rootfs", "/tmp/b/rootfs/dev/pts"), "/dev/pts");
  assert.equal(insideRoot("/tmp/b/rootfs", "/tmp/b/rootfs"), "/");
  assert.equal(insideRoot("/tmp/b/rootfs", "/tmp/b/rootfs2/x"), undefined);
  assert.equal(insideRoot("/tmp/b/rootfs", "/etc"), undefined);
  assert.equal(insideRoot("/", "/proc"), "/proc", "after the chroot the reader's root is /");
});

const proc: HostMount = { point: "/proc", id: 60, parent: 27, unique: "2147483700" };

Deno.test("isRecorded: the unique ID decides when both have one", () => {
  assert.ok(isRecorded(proc, { id: 60, unique: "2147483700" }, table));
  // Same (reused) mount ID, another mount: refused.
  assert.ok(!isRecorded(proc, { id: 60, unique: "2147483999" }, table));
  // Another mount ID but the same unique one cannot happen; the unique ID still decides.
  assert.ok(!isRecorded(proc, { id: 61, unique: "1" }, table));
});

Deno.test("isRecorded: without unique IDs, the same ID sitting on the same parent", () => {
  const { unique: _, ...legacy } = proc;
  assert.ok(isRecorded(legacy, { id: 60 }, table));
  assert.ok(!isRecorded(legacy, { id: 61 }, table), "another mount");
  assert.ok(!isRecorded({ ...legacy, parent: 61 }, { id: 60 }, table), "moved elsewhere");
  assert.ok(!isRecorded({ ...legacy, id: 99 }, { id: 99 }, table), "not in the table");
});

Deno.test("madeByPending: a new mount right on the one the point was on", () => {
  assert.ok(madeByPending({ point: "/dev/pts", over: 61 }, { id: 62 }, table));
  assert.ok(!madeByPending({ point: "/dev", over: 61 }, { id: 61 }, table), "nothing mounted");
  assert.ok(!madeByPending({ point: "/x", over: 61 }, { id: 60 }, table), "not on it");
  assert.ok(!madeByPending({ point: "/x", over: 61 }, { id: 5 }, table), "unknown mount");
});

Deno.test("placesOf: where it was made, then where the table says it is now", () => {
  const pts: HostMount = { point: "/old/pts", id: 62, parent: 61 };
  assert.deepEqual(placesOf(pts, "/tmp/b/rootfs", table), ["/old/pts", "/dev/pts"]);
  assert.deepEqual(placesOf({ ...pts, point: "/dev/pts" }, "/tmp/b/rootfs", table), ["/dev/pts"]);
  // A reused ID now outside the rootfs is no place to look.
  const moved = new Map<number, MountEntry>([[62, { id: 62, parent: 61, point: "/etc/x" }]]);
  assert.deepEqual(placesOf(pts, "/tmp/b/rootfs", moved), ["/old/pts"]);
});

Deno.test("mountsBelow: submounts, parents before children, inside the root only", () => {
  assert.deepEqual(mountsBelow(70, "/tmp/b/rootfs", table), [
    { point: "/sys/fs/cgroup/cpu", id: 71, parent: 70 },
    { point: "/sys/fs/cgroup/cpu/x", id: 73, parent: 71 },
    { point: "/sys/fs/cgroup/memory", id: 72, parent: 70 },
  ]);
  assert.deepEqual(mountsBelow(60, "/tmp/b/rootfs", table), []);
  const chrooted = parseMountinfo("5 1 0:1 / /dev rw - tmpfs t rw\n6 5 0:2 / /dev/pts rw - d d rw");
  assert.deepEqual(mountsBelow(5, "/", chrooted), [{ point: "/dev/pts", id: 6, parent: 5 }]);
});

/** Whether this process may run the real-mount test below (root, util-linux unshare). */
function canUnshare(): string | undefined {
  if (Deno.uid() !== 0) return "needs root";
  try {
    const ok = new Deno.Command("unshare", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
    return ok ? undefined : "unshare does not run";
  } catch {
    return "util-linux unshare is not installed";
  }
}

/**
 * Runs in a private mount namespace (nothing reaches the host's table): a pending mount, a
 * recorded one, and a recorded one whose place now holds another mount (a reused mount ID).
 */
const SCENARIO = `
import { mountIdsOf, undoHostMounts } from "${new URL("./host_mounts.ts", import.meta.url)}";
import * as sc from "${new URL("../sys/syscalls.ts", import.meta.url)}";
const root = Deno.makeTempDirSync();
const tmpfs = (p) => sc.mount("tmpfs", root + p, "tmpfs", 0, "size=64k");
const ids = (p) => { const fd = sc.open(root + p, sc.O_PATH | sc.O_CLOEXEC); try { return mountIdsOf(fd); } finally { sc.close(fd); } };
for (const d of ["/a", "/b", "/c"]) Deno.mkdirSync(root + d);
const over = ids("").id;
const rec = (p) => ({ point: p, parent: over, ...ids(p) });
tmpfs("/b"); const b = rec("/b");
tmpfs("/c"); const c = rec("/c");
sc.umount2(root + "/c", 0); tmpfs("/c"); const cNow = rec("/c");
tmpfs("/a");
const warnings = [];
undoHostMounts(root, [b, c], [{ point: "/a", over }], (m) => warnings.push(m));
const at = (p) => ids(p).id !== over;
console.log(JSON.stringify({ a: at("/a"), b: at("/b"), c: at("/c"), sameId: c.id === cNow.id, warnings }));
sc.umount2(root + "/c", 2);
`;

Deno.test({
  name: `undoHostMounts: removes the pending and recorded mounts, not one that replaced its own${
    canUnshare() ? ` [skipped: ${canUnshare()}]` : ""
  }`,
  ignore: canUnshare() !== undefined,
  fn: () => {
    const out = new Deno.Command("unshare", {
      args: ["--mount", "--propagation", "private", Deno.execPath(), "eval", "--quiet", SCENARIO],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(text);
    assert.equal(r.a, false, "the pending step's mount is gone");
    assert.equal(r.b, false, "the recorded mount is gone");
    assert.equal(r.c, true, "the mount that replaced a recorded one stays");
    // When the kernel reused the ID, the warning says it was left; else it was simply gone.
    assert.equal(r.warnings.length, r.sameId ? 1 : 0, r.warnings.join("; "));
    if (r.sameId) assert.match(r.warnings[0], /mount \d+ on \/c .* left in place/);
  },
});
