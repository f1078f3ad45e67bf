import assert from "node:assert/strict";
import { parseCgroupMounts, planMounts } from "./mounts.ts";
import { MS } from "../plan/mount_options.ts";

Deno.test("planMounts: binds resolve against the bundle, options become flags and data", () => {
  const steps = planMounts([
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/data", source: "data", options: ["rbind", "ro", "rprivate"] },
    { destination: "rel", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m"] },
    { destination: "/f", type: "bind", source: "/abs/file" },
    { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup", "mode=755"] },
    { destination: "/b2", type: "bind", source: "/x", options: ["tmpcopyup"] },
  ], "/bundles/b");
  assert.deepEqual(steps[0], {
    destination: "/proc",
    source: "proc",
    type: "proc",
    flags: 0,
    cleared: 0,
    data: "",
    bind: false,
    recursive: false,
    copyUp: false,
    propagation: [],
  });
  assert.equal(steps[1]!.source, "/bundles/b/data");
  assert.ok(steps[1]!.bind && steps[1]!.recursive);
  assert.equal(steps[1]!.flags, MS.RDONLY);
  assert.deepEqual(steps[1]!.propagation, [MS.PRIVATE | MS.REC]);
  assert.equal(steps[2]!.destination, "/rel", "relative destinations are taken from /");
  assert.equal(steps[2]!.data, "size=1m");
  assert.ok(steps[3]!.bind && steps[3]!.source === "/abs/file");
  assert.ok(steps[4]!.copyUp, "tmpcopyup is an option, not tmpfs data");
  assert.equal(steps[4]!.data, "mode=755");
  assert.equal(steps[5]!.copyUp, false, "only a tmpfs is copied up");
});

Deno.test("parseCgroupMounts: v1 controllers and the unified hierarchy", () => {
  const info = [
    "30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755",
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate",
    "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct",
    "34 30 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd",
  ].join("\n");
  assert.deepEqual(parseCgroupMounts(info), [
    { mountPoint: "/sys/fs/cgroup/unified", fstype: "cgroup2", options: "nsdelegate" },
    { mountPoint: "/sys/fs/cgroup/cpu,cpuacct", fstype: "cgroup", options: "cpu,cpuacct" },
    { mountPoint: "/sys/fs/cgroup/systemd", fstype: "cgroup", options: "xattr,name=systemd" },
  ]);
});
