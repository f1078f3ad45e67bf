import assert from "node:assert/strict";
import { listDir, listSubdirs } from "./syscalls.ts";

Deno.test("listSubdirs: only directories, never a link to one; listDir names everything", () => {
  const dir = Deno.makeTempDirSync({ prefix: "denki-dir-" });
  try {
    Deno.mkdirSync(`${dir}/a`);
    Deno.mkdirSync(`${dir}/b`);
    Deno.writeTextFileSync(`${dir}/file`, "x");
    Deno.symlinkSync(`${dir}/a`, `${dir}/link`);
    assert.deepEqual(listSubdirs(dir).sort(), ["a", "b"]);
    assert.deepEqual(listDir(dir).sort(), ["a", "b", "file", "link"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("listSubdirs: a cgroup's child cgroups, from kernfs's entry types", () => {
  // /sys/fs/cgroup holds the hierarchies (directories) on any cgroup host; kernfs gives types.
  const names = listSubdirs("/sys/fs/cgroup");
  for (const name of names) {
    assert.ok(Deno.lstatSync(`/sys/fs/cgroup/${name}`).isDirectory, name);
  }
  const files = listDir("/sys/fs/cgroup").filter((n) => !names.includes(n));
  for (const name of files) assert.ok(!Deno.lstatSync(`/sys/fs/cgroup/${name}`).isDirectory, name);
});
