import assert from "node:assert/strict";
import { compileCached } from "./seccomp_cache.ts";
import { compileSeccomp } from "../plan/seccomp/compile.ts";

const profile = {
  defaultAction: "SCMP_ACT_ALLOW" as const,
  syscalls: [{ names: ["mkdir", "nosuchcall"], action: "SCMP_ACT_ERRNO" as const }],
};

Deno.test("seccomp cache: the same program from the cache, never another profile's", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const fresh = compileSeccomp(profile, "x86_64");
    const first = await compileCached(profile, "x86_64", `${dir}/@seccomp`);
    assert.deepEqual(first, fresh);
    const [entry] = [...Deno.readDirSync(`${dir}/@seccomp`)];
    const file = `${dir}/@seccomp/${entry!.name}`;
    const cached = await compileCached(profile, "x86_64", `${dir}/@seccomp`);
    assert.deepEqual(cached, fresh, "a hit gives back program, flags, notify and notes");
    // The same file name holding another profile's program (a collision): not used.
    const stored = JSON.parse(Deno.readTextFileSync(file));
    Deno.writeTextFileSync(file, JSON.stringify({ ...stored, key: "other", program: "AAAA" }));
    assert.deepEqual(await compileCached(profile, "x86_64", `${dir}/@seccomp`), fresh);
    Deno.writeTextFileSync(file, "{damaged");
    assert.deepEqual(await compileCached(profile, "x86_64", `${dir}/@seccomp`), fresh);
    // Another architecture is another entry.
    assert.deepEqual(
      await compileCached(profile, "aarch64", `${dir}/@seccomp`),
      compileSeccomp(profile, "aarch64"),
    );
    assert.equal([...Deno.readDirSync(`${dir}/@seccomp`)].length, 2);
    // A cache directory that cannot be made is no error.
    Deno.writeTextFileSync(`${dir}/file`, "");
    assert.deepEqual(await compileCached(profile, "x86_64", `${dir}/file/@seccomp`), fresh);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
