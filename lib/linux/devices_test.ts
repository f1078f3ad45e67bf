import assert from "node:assert/strict";
import { DEFAULT_DEVICES, devicePlan, makedev } from "./devices.ts";

Deno.test("devices: makedev refuses numbers the kernel would cut to another device", () => {
  assert.equal(makedev(0xfff, 0xfffff), (0xfffn << 8n) | 0xffn | (0xfff00n << 12n));
  // 4294967297:1 once wrapped to 1:1 (/dev/mem); 4097:1 loses its high bits in mknod.
  for (const [major, minor] of [[2 ** 32 + 1, 1], [4097, 1], [1, 2 ** 20], [-1, 3], [1, NaN]]) {
    assert.throws(() => makedev(major!, minor!), {
      message: `device number ${major}:${minor} is beyond the kernel's 4095:1048575`,
    });
  }
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
