import assert from "node:assert/strict";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  O_CLOEXEC,
  O_RDONLY,
  S_IFLNK,
  S_IFREG,
} from "../plan/abi.ts";
import { close } from "./call.ts";
import { open } from "./file.ts";
import { decodeStat, fileId, fileType, fstatat, statAt, utimens } from "./stat.ts";

/** A struct stat as the kernel lays it out on `arch`, with distinct values in every field. */
function rawStat(arch: "x86_64" | "aarch64"): Uint8Array {
  const buf = new Uint8Array(256);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, 0x0801n, true); // st_dev
  v.setBigUint64(8, 123456789n, true); // st_ino
  if (arch === "x86_64") {
    v.setBigUint64(16, 3n, true); // st_nlink (64-bit, before mode)
    v.setUint32(24, 0o100644, true); // st_mode
    v.setUint32(28, 1000, true); // st_uid
    v.setUint32(32, 100, true); // st_gid
    v.setBigUint64(40, 0x0103n, true); // st_rdev
  } else {
    v.setUint32(16, 0o100644, true); // st_mode
    v.setUint32(20, 3, true); // st_nlink (32-bit, after mode)
    v.setUint32(24, 1000, true); // st_uid
    v.setUint32(28, 100, true); // st_gid
    v.setBigUint64(32, 0x0103n, true); // st_rdev
  }
  v.setBigInt64(48, 4096n, true); // st_size
  const times = [[1_700_000_000n, 1n], [1_700_000_001n, 999_999_999n], [5n, 0n]];
  times.forEach(([sec, nsec], i) => {
    v.setBigInt64(72 + 16 * i, sec!, true);
    v.setBigInt64(80 + 16 * i, nsec!, true);
  });
  return buf;
}

Deno.test("decodeStat: x86_64 and aarch64 layouts give the same fields", () => {
  for (const arch of ["x86_64", "aarch64"] as const) {
    assert.deepEqual(decodeStat(rawStat(arch), arch), {
      dev: 0x0801n,
      ino: 123456789n,
      mode: 0o100644,
      nlink: 3n,
      uid: 1000,
      gid: 100,
      rdev: 0x0103n,
      size: 4096n,
      atim: 1_700_000_000_000_000_001n,
      mtim: 1_700_000_001_999_999_999n,
      ctim: 5_000_000_000n,
    }, arch);
  }
});

Deno.test("fstatat: agrees with Deno's stat; lstat, fd, missing and times", () => {
  const dir = Deno.makeTempDirSync({ prefix: "denki-stat-" });
  try {
    const file = `${dir}/f`;
    Deno.writeTextFileSync(file, "hello");
    Deno.symlinkSync(file, `${dir}/l`);
    const st = fstatat(AT_FDCWD, file, 0);
    assert.ok(!("errno" in st));
    const ref = Deno.statSync(file);
    assert.equal(st.ino, BigInt(ref.ino!));
    assert.equal(st.dev, BigInt(ref.dev));
    assert.equal(st.mode, ref.mode);
    assert.equal(st.uid, ref.uid);
    assert.equal(st.gid, ref.gid);
    assert.equal(st.nlink, BigInt(ref.nlink!));
    assert.equal(st.size, 5n);
    assert.equal(st.mtim / 1_000_000n, BigInt(ref.mtime!.getTime()));

    assert.equal(statAt(AT_FDCWD, `${dir}/l`)!.mode & S_IFLNK, S_IFLNK, "statAt does not follow");
    assert.equal(fileType(AT_FDCWD, `${dir}/l`, 0), S_IFREG, "fileType follows when asked");
    assert.deepEqual(fstatat(AT_FDCWD, `${dir}/missing`, 0), { errno: 2 });
    assert.equal(statAt(AT_FDCWD, `${dir}/missing`), undefined);

    const fd = open(file, O_RDONLY | O_CLOEXEC);
    try {
      assert.equal(fileId(fd, "", AT_EMPTY_PATH), `${st.dev}:${st.ino}`, "an fd is its file");
      assert.equal(statAt(fd)!.ino, st.ino);
    } finally {
      close(fd);
    }
    assert.equal(fileId(AT_FDCWD, file), `${st.dev}:${st.ino}`);
    assert.notEqual(fileId(AT_FDCWD, `${dir}/l`, AT_SYMLINK_NOFOLLOW), fileId(AT_FDCWD, file));

    // Nanosecond file times go in and come back out unchanged.
    const t = 1_600_000_000_123_456_789n;
    assert.equal(utimens(file, true, t, t), 0);
    const after = fstatat(AT_FDCWD, file, 0);
    assert.ok(!("errno" in after));
    assert.equal(after.mtim, t);
    assert.equal(after.atim, t);
    assert.equal(utimens(`${dir}/missing`, true, "now", undefined), 2);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
