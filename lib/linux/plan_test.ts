import assert from "node:assert/strict";
import { DEFAULT_DEVICES, devicePlan, makedev } from "./devices.ts";
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

Deno.test("devices: makedev encoding and the default set", () => {
  assert.equal(makedev(1, 3), 0x103n);
  assert.equal(makedev(10, 229), (10n << 8n) | 229n);
  assert.equal(makedev(259, 300), ((300n & 0xffffff00n) << 12n) | (259n << 8n) | (300n & 0xffn));
  assert.deepEqual(DEFAULT_DEVICES.map((d) => d.path), [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
  ]);
  const plan = devicePlan([{ type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o600 }, {
    type: "p",
    path: "/dev/fifo",
  }]);
  assert.equal(plan.length, 7);
  assert.equal(
    plan.find((d) => d.path === "/dev/null")!.fileMode,
    0o600,
    "a config entry replaces a default",
  );
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

Deno.test("rootfs: the parent mount of the root, host proc and sysfs for --no-pivot", async () => {
  const { hostProcAndSys, parentMountPoint } = await import("./rootfs.ts");
  const info = [
    "1 0 8:1 / / rw - ext4 /dev/vda rw",
    "2 1 0:5 / /proc rw - proc proc rw",
    "3 1 0:6 / /sys rw - sysfs sysfs rw",
    "4 1 0:7 / /tmp rw - tmpfs tmpfs rw",
    "5 4 0:8 / /tmp/b/rootfs/proc rw - proc proc rw",
    "6 2 0:9 / /proc/sys/fs/binfmt_misc rw - binfmt_misc x rw",
  ].join("\n");
  assert.equal(parentMountPoint(info, "/tmp/b/rootfs"), "/tmp");
  assert.equal(parentMountPoint(info, "/var/lib/rootfs"), "/");
  assert.deepEqual(hostProcAndSys(info, "/tmp/b/rootfs"), ["/proc", "/sys"]);
});
