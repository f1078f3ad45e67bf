/**
 * Configs built to slip past checks (issue 11, smaller findings): each is refused by `create`
 * with one short line naming the problem, and leaves no state, cgroup or process behind.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS, type Json, type Lab, withLab } from "./support/container.ts";
import { testWith } from "./support/requires.ts";

const T = (name: string, fn: (lab: Lab) => Promise<void>) =>
  testWith(`hostile config: ${name}`, CONTAINER_REQS, () => withLab(fn));

/** `create` of a bundle patched by `patch`: must fail with one line matching `re`. */
async function refused(
  lab: Lab,
  patch: (c: Json) => void,
  re: RegExp,
  fill?: (rootfs: string) => void,
): Promise<string> {
  const b = lab.bundle((c: Json) => {
    c.process.args = ["sh", "-c", "echo RAN > /ran"];
    c.root.readonly = false;
    patch(c);
  }, fill);
  const r = await lab.denki(["create", "--bundle", b.dir, "h1"]);
  assert.equal(r.code, 1, r.stderr.slice(0, 300));
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr.slice(0, 300));
  assert.match(lines[0]!, re);
  assert.ok(lines[0]!.length < 400, `${lines[0]!.length} characters`);
  assert.deepEqual(lab.containers(), [], "no state left");
  return b.rootfs;
}

T("a rootfs that is a symlink is refused, as runc refuses it", async (lab) => {
  const real = lab.bundle();
  const rootfs = await refused(
    lab,
    () => {},
    /invalid rootfs .*\/rootfs: not an absolute path, or a symlink/,
    (dir) => {
      Deno.removeSync(dir);
      Deno.symlinkSync(real.rootfs, dir);
    },
  );
  assert.ok(Deno.lstatSync(rootfs).isSymlink);
  // A symlink further up the rootfs path is refused the same way.
  await refused(
    lab,
    (c) => (c.root.path = "link/rootfs"),
    /invalid rootfs .*\/link\/rootfs: not an absolute path, or a symlink/,
    (dir) => Deno.symlinkSync(real.dir, `${dir}/../link`),
  );
});

T("NUL bytes in env, args and paths are refused, not cut short", async (lab) => {
  await refused(
    lab,
    (c) => (c.process.env = ["PATH=/bin\0LD_PRELOAD=/x.so"]),
    /process\.env\[0\]: must not contain a NUL byte/,
  );
  await refused(
    lab,
    (c) => (c.process.args = ["sh", "-c", "echo RAN > /ran\0; rm -rf /"]),
    /process\.args\[2\]: must not contain a NUL byte/,
  );
  await refused(
    lab,
    (c) => c.mounts.push({ destination: "/mnt\0/../etc", type: "tmpfs", source: "tmpfs" }),
    /mounts\[\d+\]\.destination: must not contain a NUL byte/,
  );
});

T("a device number past the kernel's range is refused, not wrapped to another", async (lab) => {
  // 4294967297:1 used to become 1:1, which is /dev/mem.
  const rootfs = await refused(
    lab,
    (c) => (c.linux.devices = [{ type: "c", path: "/dev/notmem", major: 4294967297, minor: 1 }]),
    /linux\.devices\[0\]\.major: must be from 0 to 4095, not 4294967297/,
  );
  assert.throws(() => Deno.lstatSync(`${rootfs}/dev/notmem`), Deno.errors.NotFound);
  assert.throws(() => Deno.lstatSync(`${rootfs}/ran`), Deno.errors.NotFound);
});

T("a 100k-character hostname is one short error line", async (lab) => {
  await refused(
    lab,
    (c) => (c.hostname = "h".repeat(100_000)),
    /hostname: must be at most 64 bytes, not 100000/,
  );
});
