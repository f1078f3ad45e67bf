import assert from "node:assert/strict";
import { CAPABILITIES, capMask } from "./capabilities.ts";
import { MS, parseMountOptions } from "./mount_options.ts";
import { parseSignal, signalName } from "./signals.ts";
import { describeErrno } from "./errno.ts";

Deno.test("signals: names with or without SIG in any case, numbers, RT signals", () => {
  assert.equal(parseSignal("KILL"), 9);
  assert.equal(parseSignal("SIGKILL"), 9);
  assert.equal(parseSignal("sigterm"), 15);
  assert.equal(parseSignal("usr1"), 10);
  assert.equal(parseSignal("9"), 9);
  assert.equal(parseSignal("64"), 64);
  assert.equal(parseSignal("RTMIN"), 34);
  assert.equal(parseSignal("SIGRTMIN+2"), 36);
  assert.equal(parseSignal("RTMAX-1"), 63);
  for (const bad of ["0", "65", "BOGUS", "SIG", "RTMIN+40", "-1", ""]) {
    assert.equal(parseSignal(bad), undefined, bad);
  }
  assert.equal(signalName(15), "SIGTERM");
  assert.equal(signalName(40), "signal 40");
});

Deno.test("capabilities: names to a mask, unknown names reported", () => {
  assert.equal(CAPABILITIES.CAP_SYS_ADMIN, 21);
  const r = capMask(["CAP_CHOWN", "CAP_KILL", "CAP_NOPE", "CAP_CHECKPOINT_RESTORE"]);
  assert.equal(r.mask, 1n | (1n << 5n) | (1n << 40n));
  assert.deepEqual(r.unknown, ["CAP_NOPE"]);
});

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

Deno.test("errno: names and descriptions", () => {
  assert.equal(describeErrno(2), "ENOENT (no such file or directory)");
  assert.equal(describeErrno(4095), "errno 4095");
});
