import assert from "node:assert/strict";
import { hostProcAndSys, parentMountPoint } from "./rootfs.ts";

Deno.test("rootfs: the parent mount of the root, host proc and sysfs for --no-pivot", () => {
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
