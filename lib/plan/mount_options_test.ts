import assert from "node:assert/strict";
import { MS, parseMountOptions } from "./mount_options.ts";

Deno.test("mount options: flags, clears, atime choices, propagation, bind, data", () => {
  const o = parseMountOptions([
    "nosuid",
    "nodev",
    "ro",
    "rw",
    "noatime",
    "strictatime",
    "rbind",
    "rslave",
    "private",
    "size=64k",
    "mode=755",
  ]);
  assert.equal(
    o.flags,
    MS.NOSUID | MS.NODEV | MS.STRICTATIME,
    "rw cleared ro; strictatime replaced noatime",
  );
  assert.equal(o.cleared & MS.RDONLY, MS.RDONLY);
  assert.deepEqual(o.propagation, [MS.SLAVE | MS.REC, MS.PRIVATE]);
  assert.ok(o.bind && o.recursive);
  assert.deepEqual(o.data, ["size=64k", "mode=755"]);
  const plain = parseMountOptions(["bind", "defaults", "exec", "suid", "dev"]);
  assert.equal(plain.flags, 0);
  assert.ok(plain.bind && !plain.recursive);
});
