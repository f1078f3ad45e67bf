import assert from "node:assert/strict";
import { makedev } from "./devices.ts";

Deno.test("devices: makedev refuses numbers the kernel would cut to another device", () => {
  assert.equal(makedev(0xfff, 0xfffff), (0xfffn << 8n) | 0xffn | (0xfff00n << 12n));
  // 4294967297:1 once wrapped to 1:1 (/dev/mem); 4097:1 loses its high bits in mknod.
  for (const [major, minor] of [[2 ** 32 + 1, 1], [4097, 1], [1, 2 ** 20], [-1, 3], [1, NaN]]) {
    assert.throws(() => makedev(major!, minor!), {
      message: `device number ${major}:${minor} is beyond the kernel's 4095:1048575`,
    });
  }
});
