/**
 * `events --stats` against runc's: denki's reader pointed at the cgroup of a container runc
 * made must print exactly what `runc events --stats` prints for it, and denki's own
 * container's stats must have runc's keys.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS, type Json, type Lab, withLab } from "./support/container.ts";
import { run } from "./support/denki.ts";
import { v1Cgroups, waitFor } from "./support/cgroups.ts";
import { emptyAndRemove } from "./support/cgroup_cleanup.ts";
import { exists } from "./support/fs.ts";
import { program, testWith } from "./support/requires.ts";
import { hostLayout } from "../lib/cgroups/layout.ts";
import { Cgroup } from "../lib/cgroups/manager.ts";
import { collectStats, toJson } from "../lib/cgroups/stats.ts";

const LEAF = `/denki-events-${Deno.pid}`;
const RUNC = (lab: Lab) => `${lab.dir}/runc-state`;

/**
 * A started container that read a file past the page cache (so that blkio has entries when
 * the rootfs is on a disk) and sleeps; returns its pid once it is idle.
 */
async function idle(lab: Lab, id: string, runc: boolean, cgroupsPath?: string): Promise<number> {
  const b = lab.bundle((c: Json) => {
    c.process.args = [
      "sh",
      "-c",
      "dd if=/bin/busybox of=/dev/null bs=4096 count=8 iflag=direct 2>/dev/null; " +
      "echo ready > /ready; exec sleep 100",
    ];
    c.root.readonly = false;
    if (cgroupsPath !== undefined) c.linux.cgroupsPath = cgroupsPath;
  });
  const opts = runc ? { program: "runc" } : {};
  const root = runc ? RUNC(lab) : lab.root;
  const r = await run(["--root", root, "run", "-d", "--bundle", b.dir, id], {
    ...opts,
    files: true,
  });
  assert.equal(r.code, 0, r.stderr);
  await waitFor(`${id} to be ready`, () => exists(`${b.rootfs}/ready`));
  const st = JSON.parse((await run(["--root", root, "state", id], opts)).stdout);
  return st.pid as number;
}

/** A read-only view of the cgroups `pid` is in, as denki's manager records them. */
function cgroupOf(pid: number): Cgroup {
  const layout = hostLayout();
  const lines = Deno.readTextFileSync(`/proc/${pid}/cgroup`).trim().split("\n");
  const pathOf = (name: string) =>
    lines.map((l) => l.split(":")).find((f) => f[1]!.split(",").includes(name))?.slice(2).join(":");
  const v1: Record<string, string> = {};
  for (const [controller, h] of layout.v1) {
    const p = pathOf(controller);
    if (p !== undefined) v1[controller] = `${h.mount}${p}`;
  }
  const v2Path = lines.find((l) => l.startsWith("0::"))?.slice(3);
  return new Cgroup({
    path: LEAF,
    v1,
    ...(layout.unified && v2Path ? { v2: `${layout.unified.mount}${v2Path}` } : {}),
    v2Controllers: [],
    created: [],
  });
}

async function runcStats(lab: Lab, id: string): Promise<string> {
  const r = await run(["--root", RUNC(lab), "events", "--stats", id], { program: "runc" });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

testWith(
  "events --stats: the JSON runc prints for the same cgroup, and runc's keys for denki's own",
  [...CONTAINER_REQS, v1Cgroups(), program("runc")],
  () =>
    withLab(async (lab) => {
      try {
        const pid = await idle(lab, "er1", true, LEAF);
        const cg = cgroupOf(pid);
        // A sleeping container's numbers hold still; compare when two runc reads agree.
        let compared = false;
        for (let round = 0; round < 10 && !compared; round++) {
          const before = await runcStats(lab, "er1");
          // runc 1.1 on a hybrid host reads no hugetlb: no page sizes, as there.
          const ours = toJson({ type: "stats", id: "er1", data: collectStats(cg, []) });
          const after = await runcStats(lab, "er1");
          if (before !== after) continue;
          assert.equal(ours, before);
          compared = true;
        }
        assert.ok(compared, "runc's stats never held still for two reads");
        const root = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
          .find((l) => l.split(" ")[4] === "/")?.split(" - ")[1]?.split(" ")[1] ?? "";
        if (root.startsWith("/dev/")) {
          // On a disk, the direct read shows up: the zero-omitting entries were compared.
          assert.match(await runcStats(lab, "er1"), /"ioServiceBytesRecursive":\[\{"major"/);
        }
        const runcData = JSON.parse(await runcStats(lab, "er1")).data;

        const mine = await idle(lab, "ed1", false, `${LEAF}-d`);
        assert.ok(mine > 0);
        const ev = await lab.denki(["events", "--stats", "ed1"]);
        assert.equal(ev.code, 0, ev.stderr);
        const data = JSON.parse(ev.stdout).data;
        const keys = (o: Json) => Object.keys(o).join(",");
        assert.equal(keys(data), keys(runcData));
        assert.equal(keys(data.cpu), keys(runcData.cpu));
        assert.equal(keys(data.cpu.usage), keys(runcData.cpu.usage));
        assert.equal(keys(data.cpuset), keys(runcData.cpuset));
        assert.equal(keys(data.memory), keys(runcData.memory));
        assert.equal(keys(data.memory.usage), keys(runcData.memory.usage));
      } finally {
        await run(["--root", RUNC(lab), "delete", "--force", "er1"], { program: "runc" });
        await lab.denki(["delete", "--force", "ed1"]);
        const left = hostLayout();
        const dirs = [...new Set([...left.v1.values()].map((h) => h.mount))]
          .concat(left.unified ? [left.unified.mount] : [])
          .flatMap((m) => [`${m}${LEAF}`, `${m}${LEAF}-d`]).filter(exists);
        assert.deepEqual(await emptyAndRemove(dirs), []);
        assert.deepEqual(dirs, [], "runc and denki removed their cgroups");
      }
    }),
);
