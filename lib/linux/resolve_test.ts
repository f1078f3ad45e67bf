import assert from "node:assert/strict";
import { fdPath, openInRoot, openRoot } from "./resolve.ts";
import * as sc from "../sys/syscalls.ts";

function withTree(fn: (root: string, outside: string, rootFd: number) => void) {
  return () => {
    const base = Deno.makeTempDirSync({ prefix: "denki-resolve-" });
    const root = `${base}/rootfs`;
    const outside = `${base}/outside`;
    Deno.mkdirSync(root);
    Deno.mkdirSync(outside);
    const rootFd = openRoot(root);
    try {
      fn(root, outside, rootFd);
    } finally {
      sc.close(rootFd);
      Deno.removeSync(base, { recursive: true });
    }
  };
}

function where(fd: number): string {
  try {
    return Deno.readLinkSync(fdPath(fd));
  } finally {
    sc.close(fd);
  }
}

Deno.test(
  "openInRoot: existing paths and missing directories",
  withTree((root, _o, rootFd) => {
    Deno.mkdirSync(`${root}/a/b`, { recursive: true });
    assert.equal(where(openInRoot(rootFd, "/a/b", undefined)), `${root}/a/b`);
    assert.equal(where(openInRoot(rootFd, "/x/y/z", "dir")), `${root}/x/y/z`);
    assert.ok(Deno.statSync(`${root}/x/y/z`).isDirectory);
    assert.equal(where(openInRoot(rootFd, "/x/file", "file")), `${root}/x/file`);
    assert.ok(Deno.statSync(`${root}/x/file`).isFile);
    assert.throws(() => openInRoot(rootFd, "/nope", undefined), { message: /ENOENT/ });
  }),
);

Deno.test(
  "openInRoot: an absolute symlink cannot lead out of the root",
  withTree((root, outside, rootFd) => {
    Deno.symlinkSync(outside, `${root}/etc`); // /etc -> <host path>
    const fd = openInRoot(rootFd, "/etc/passwd-dir", "dir");
    assert.equal(where(fd), `${root}${outside}/passwd-dir`);
    assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing created on the host side");
  }),
);

Deno.test(
  "openInRoot: relative .. escapes are clamped at the root",
  withTree((root, outside, rootFd) => {
    Deno.symlinkSync("../../../../outside", `${root}/up`);
    assert.equal(where(openInRoot(rootFd, "/up/x", "dir")), `${root}/outside/x`);
    assert.equal(where(openInRoot(rootFd, "/../../../x2", "dir")), `${root}/x2`);
    assert.deepEqual([...Deno.readDirSync(outside)], []);
  }),
);

Deno.test(
  "openInRoot: a dangling absolute link is created inside the root",
  withTree((root, outside, rootFd) => {
    Deno.symlinkSync(`${outside}/data`, `${root}/data`);
    assert.equal(where(openInRoot(rootFd, "/data", "dir")), `${root}${outside}/data`);
    assert.throws(() => Deno.statSync(`${outside}/data`), Deno.errors.NotFound);
  }),
);

Deno.test(
  "openInRoot: symlink loops and files in the middle are errors",
  withTree((root, _o, rootFd) => {
    Deno.symlinkSync("/loop2", `${root}/loop1`);
    Deno.symlinkSync("/loop1", `${root}/loop2`);
    assert.throws(() => openInRoot(rootFd, "/loop1/x", "dir"), { message: /ELOOP/ });
    Deno.writeTextFileSync(`${root}/f`, "");
    assert.throws(() => openInRoot(rootFd, "/f/x", "dir"), { message: /ENOTDIR/ });
  }),
);
