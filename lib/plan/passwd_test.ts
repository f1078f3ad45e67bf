import assert from "node:assert/strict";
import {
  needsHome,
  PASSWD_READ_LIMIT,
  passwdEntries,
  passwdEntry,
  passwdHome,
  withHome,
} from "./passwd.ts";

const DEBIAN = [
  "root:x:0:0:root:/root:/bin/bash",
  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
  "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
  "postgres:x:999:999:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash",
  "",
].join("\n");

Deno.test("passwdHome: the uid's home; / without an entry or without the file", () => {
  assert.equal(passwdHome(DEBIAN, 0), "/root");
  assert.equal(passwdHome(DEBIAN, 33), "/var/www");
  assert.equal(passwdHome(DEBIAN, 999), "/var/lib/postgresql");
  assert.equal(passwdHome(DEBIAN, 65534), "/nonexistent");
  assert.equal(passwdHome(DEBIAN, 1000), "/", "no entry");
  assert.equal(passwdHome(undefined, 0), "/", "no /etc/passwd");
  assert.equal(passwdHome("", 0), "/", "an empty file");
});

Deno.test("passwdHome: first entry wins; an empty home stays empty, as in runc and crun", () => {
  const dup = "a:x:5:5::/first:/bin/sh\nb:x:5:5::/second:/bin/sh\n";
  assert.equal(passwdHome(dup, 5), "/first");
  assert.equal(passwdHome("e:x:7:7:::/bin/sh\n", 7), "");
  // Shell missing: still an entry. Extra colons belong to the shell.
  assert.equal(passwdHome("s:x:8:8::/home/s", 8), "/home/s");
  assert.equal(passwdEntry("s:x:8:8::/h:/bin/a:b", 8)?.shell, "/bin/a:b");
  // CRLF files and surrounding blanks, as runc trims each line.
  assert.equal(passwdHome("  root:x:0:0::/root:/bin/sh\r\n", 0), "/root");
});

Deno.test("passwdHome: malformed lines are skipped, never read as uid 0", () => {
  const hostile = [
    "garbage",
    "#root:x:0:0::/commented:/bin/sh",
    "+::::::",
    "+root:x:0:0::/nis:/bin/sh",
    "-bad:x:0:0::/nis:/bin/sh",
    "short:x:0:0:/too-few",
    ":x:0:0::/noname:/bin/sh",
    "neg:x:-1:0::/neg:/bin/sh",
    "hex:x:0x0:0::/hex:/bin/sh",
    "big:x:4294967295:0::/minus-one:/bin/sh",
    "huge:x:99999999999:0::/huge:/bin/sh",
    "nul:x:0:0::/a\0b:/bin/sh",
    "gid:x:0:zero::/badgid:/bin/sh",
    "root:x:0:0:root:/root:/bin/sh",
  ].join("\n");
  assert.equal(passwdHome(hostile, 0), "/root");
  assert.equal(passwdHome(hostile, 4294967295), "/");
  assert.deepEqual([...passwdEntries(hostile)].map((e) => e.name), ["root"]);
  // runc's Atoi-style leading zeros still name the uid.
  assert.equal(passwdHome("z:x:0042:0::/z:/bin/sh", 42), "/z");
});

Deno.test("passwdHome: only the first PASSWD_READ_LIMIT characters count; long lines skipped", () => {
  const pad = "x".repeat(100) + "\n";
  const filler = pad.repeat(Math.ceil(PASSWD_READ_LIMIT / pad.length));
  assert.equal(passwdHome(filler + "late:x:1:1::/late:/bin/sh\n", 1), "/");
  const long = `long:x:2:2:${"g".repeat(70_000)}:/long:/bin/sh\nok:x:2:2::/ok:/bin/sh\n`;
  assert.equal(passwdHome(long, 2), "/ok");
  // A 32 MiB file with no newline at all is looked at only up to the limit, and fast.
  const start = performance.now();
  assert.equal(passwdHome("a".repeat(32 << 20), 0), "/");
  assert.ok(performance.now() - start < 1000);
});

Deno.test("withHome: added only when the env has no HOME, or an empty one (runc's rule)", () => {
  assert.deepEqual(withHome(["PATH=/bin"], "/root"), ["PATH=/bin", "HOME=/root"]);
  const set = ["HOME=/custom", "PATH=/bin"];
  const kept = withHome(set, "/root");
  assert.deepEqual(kept, set);
  assert.notEqual(kept, set, "a copy");
  // The HOME that counts is the last one: a later empty one asks for passwd's.
  assert.deepEqual(withHome(["HOME=/a", "PATH=/bin", "HOME="], "/root"), [
    "HOME=/root",
    "PATH=/bin",
  ]);
  assert.deepEqual(withHome(["HOME=", "HOME=/b"], "/root"), ["HOME=", "HOME=/b"]);
  // Names that only start like HOME are other variables.
  assert.deepEqual(withHome(["HOMEDIR=/x", "HOME"], "/"), ["HOMEDIR=/x", "HOME", "HOME=/"]);
  assert.deepEqual(withHome([], ""), ["HOME="]);
  assert.equal(needsHome(["PATH=/bin"]), true);
  assert.equal(needsHome(["HOME="]), true);
  assert.equal(needsHome(["HOME=/x"]), false);
});
