import assert from "node:assert/strict";
import { cacheKey, compileCached, entryName, hash64 } from "./seccomp_cache.ts";
import { compileSeccomp } from "../plan/seccomp/compile.ts";

const profile = {
  defaultAction: "SCMP_ACT_ALLOW" as const,
  syscalls: [{ names: ["mkdir", "nosuchcall"], action: "SCMP_ACT_ERRNO" as const }],
};
const allowAll = { defaultAction: "SCMP_ACT_ALLOW" as const };

function withCache(fn: (cache: string, dir: string) => Promise<void>) {
  return async () => {
    const dir = Deno.makeTempDirSync();
    try {
      await fn(`${dir}/@seccomp`, dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

/** Only the program and flags decide what the kernel gets; notes differ when a hit is refused. */
const filter = (c: { program: Uint8Array; flags: number }) => ({
  program: c.program,
  flags: c.flags,
});

/** An entry for `profile` whose program is `forged`'s, consistent in every field. */
function forgedEntry(forged: typeof allowAll): string {
  const key = cacheKey(profile, "x86_64");
  const c = compileSeccomp(forged, "x86_64");
  const program = btoa(String.fromCharCode(...c.program));
  const body = { key, program, flags: c.flags, notify: c.notify, notes: c.notes };
  const sum = hash64(JSON.stringify([key, program, c.flags, c.notify, c.notes]));
  return JSON.stringify({ ...body, sum });
}

Deno.test(
  "seccomp cache: the same program from the cache, never another profile's",
  withCache(async (cache) => {
    const fresh = compileSeccomp(profile, "x86_64");
    assert.deepEqual(await compileCached(profile, "x86_64", cache), fresh);
    const [entry] = [...Deno.readDirSync(cache)];
    const file = `${cache}/${entry!.name}`;
    assert.equal(entry!.name, entryName(cacheKey(profile, "x86_64")));
    assert.equal(Deno.statSync(file).mode! & 0o7777, 0o600);
    assert.equal(Deno.statSync(cache).mode! & 0o7777, 0o700);
    assert.deepEqual(await compileCached(profile, "x86_64", cache), fresh, "a hit, notes and all");
    // The same file name holding another profile's program (a collision): not used.
    const stored = JSON.parse(Deno.readTextFileSync(file));
    Deno.writeTextFileSync(file, JSON.stringify({ ...stored, key: "other", program: "AAAA" }));
    const refused = await compileCached(profile, "x86_64", cache);
    assert.deepEqual(filter(refused), filter(fresh));
    assert.match(refused.notes.at(-1)!, /not used: it does not match its key/);
    Deno.writeTextFileSync(file, "{damaged");
    assert.deepEqual(filter(await compileCached(profile, "x86_64", cache)), filter(fresh));
    // Another architecture is another entry.
    assert.deepEqual(
      await compileCached(profile, "aarch64", cache),
      compileSeccomp(profile, "aarch64"),
    );
    assert.equal([...Deno.readDirSync(cache)].length, 2);
  }),
);

Deno.test(
  "seccomp cache: a program swapped in under the right key is refused by its checksum",
  withCache(async (cache) => {
    const fresh = compileSeccomp(profile, "x86_64");
    await compileCached(profile, "x86_64", cache);
    const file = `${cache}/${entryName(cacheKey(profile, "x86_64"))}`;
    const stored = JSON.parse(Deno.readTextFileSync(file));
    const open = compileSeccomp(allowAll, "x86_64");
    Deno.writeTextFileSync(
      file,
      JSON.stringify({ ...stored, program: btoa(String.fromCharCode(...open.program)) }),
    );
    const got = await compileCached(profile, "x86_64", cache);
    assert.deepEqual(filter(got), filter(fresh));
    assert.match(got.notes.at(-1)!, /does not match its key/);
  }),
);

Deno.test(
  "seccomp cache: entries anyone else could have written are not believed",
  withCache(async (cache, dir) => {
    const fresh = filter(compileSeccomp(profile, "x86_64"));
    const name = entryName(cacheKey(profile, "x86_64"));
    const file = `${cache}/${name}`;
    Deno.mkdirSync(cache, { mode: 0o700 });
    // A consistent forged entry (allow all) in each unsafe place in turn.
    const plant = (mode: number) => {
      Deno.writeTextFileSync(file, forgedEntry(allowAll));
      Deno.chmodSync(file, mode);
    };
    plant(0o644);
    let got = await compileCached(profile, "x86_64", cache);
    assert.deepEqual(filter(got), fresh, "mode 0644");
    assert.match(got.notes.at(-1)!, /not used: its mode is 644, not 600/);
    // A link to a well-formed entry elsewhere.
    Deno.removeSync(file);
    Deno.writeTextFileSync(`${dir}/elsewhere.json`, forgedEntry(allowAll), { mode: 0o600 });
    Deno.symlinkSync(`${dir}/elsewhere.json`, file);
    got = await compileCached(profile, "x86_64", cache);
    assert.deepEqual(filter(got), fresh, "a symlink");
    assert.ok(!Deno.lstatSync(file).isSymlink, "replaced by a real entry");
    // A cache directory others may write to: neither read nor written.
    plant(0o600);
    Deno.chmodSync(cache, 0o777);
    got = await compileCached(profile, "x86_64", cache);
    assert.deepEqual(filter(got), fresh, "a world-writable cache");
    assert.match(got.notes.at(-1)!, /seccomp cache .* not used: it is writable by group or others/);
    assert.equal(Deno.readTextFileSync(file), forgedEntry(allowAll), "nothing written there");
    // The owner's own entry, private and consistent, is what the cache is for.
    Deno.chmodSync(cache, 0o700);
    got = await compileCached(profile, "x86_64", cache);
    assert.deepEqual(filter(got), filter(compileSeccomp(allowAll, "x86_64")));
  }),
);

// Only root can give a file to another user.
const root = Deno.uid() === 0;

Deno.test({
  name: "seccomp cache: an entry of another user's is not believed" +
    (root ? "" : " [skipped: needs root]"),
  ignore: !root,
  fn: withCache(async (cache) => {
    const file = `${cache}/${entryName(cacheKey(profile, "x86_64"))}`;
    Deno.mkdirSync(cache, { mode: 0o700 });
    Deno.writeTextFileSync(file, forgedEntry(allowAll), { mode: 0o600 });
    Deno.chownSync(file, 65534, 65534);
    const got = await compileCached(profile, "x86_64", cache);
    assert.deepEqual(filter(got), filter(compileSeccomp(profile, "x86_64")), "owned by nobody");
    assert.match(got.notes.at(-1)!, /belongs to uid 65534, not to the caller \(uid 0\) or root/);
  }),
});

Deno.test(
  "seccomp cache: a cache directory that cannot be made is no error",
  withCache(async (_cache, dir) => {
    Deno.writeTextFileSync(`${dir}/file`, "");
    assert.deepEqual(
      await compileCached(profile, "x86_64", `${dir}/file/@seccomp`),
      compileSeccomp(profile, "x86_64"),
    );
  }),
);
