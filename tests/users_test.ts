/**
 * tests/support/users.ts: a test user exists during the test and runs programs as itself with
 * a clean environment; afterwards (also after a throw) the user, its processes and dirs are
 * gone and /etc/subuid and /etc/subgid hold their exact old bytes. With subordinate ids, the
 * user also maps a user namespace through newuidmap/newgidmap with lib/linux/userns.ts.
 */
import assert from "node:assert/strict";
import { passwdEntries } from "../lib/plan/passwd.ts";
import { program, root, testWith } from "./support/requires.ts";
import { pidsOfUid, SUBID_COUNT, type TestUser, withTestUser } from "./support/users.ts";

const NEEDS = [root(), program("useradd"), program("userdel"), program("setpriv")];

function bytesOf(path: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** The subordinate-id files now, to compare byte for byte later. */
function subFiles(): (Uint8Array | undefined)[] {
  return [bytesOf("/etc/subuid"), bytesOf("/etc/subgid")];
}

function hasUser(name: string): boolean {
  return [...passwdEntries(Deno.readTextFileSync("/etc/passwd"))].some((e) => e.name === name);
}

function hasGroup(name: string): boolean {
  return Deno.readTextFileSync("/etc/group").split("\n").some((l) => l.startsWith(`${name}:`));
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` runs (a zombie has stopped running). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return false;
  }
}

/** Asserts every trace of `u` is gone and the subordinate-id files are as `before`. */
function assertGone(u: TestUser, before: (Uint8Array | undefined)[]): void {
  assert.equal(hasUser(u.name), false, `${u.name} is still in /etc/passwd`);
  assert.equal(hasGroup(u.name), false, `${u.name} is still in /etc/group`);
  assert.equal(exists(u.home), false, `${u.home} is left`);
  assert.equal(exists(u.runtimeDir), false, `${u.runtimeDir} is left`);
  assert.deepEqual(pidsOfUid(u.uid), [], `processes of uid ${u.uid} are left`);
  assert.deepEqual(subFiles(), before, "/etc/subuid or /etc/subgid changed");
}

testWith("withTestUser: a user of its own, running with a clean environment", NEEDS, async () => {
  const before = subFiles();
  let seen: TestUser | undefined;
  Deno.env.set("DENKI_USERS_TEST_SECRET", "must-not-leak");
  try {
    await withTestUser(async (u) => {
      seen = u;
      assert.match(u.name, /^denki-t\d+-\d+$/);
      assert.equal(hasUser(u.name), true);
      for (const dir of [u.home, u.runtimeDir]) {
        const st = Deno.statSync(dir);
        assert.equal(st.uid, u.uid);
        assert.equal(st.gid, u.gid);
        assert.equal(st.mode! & 0o777, 0o700);
      }
      const id = await u.run("id", ["-u"]);
      assert.equal(id.code, 0, id.stderr);
      assert.equal(id.stdout.trim(), String(u.uid));
      const groups = await u.run("id", ["-G"]);
      assert.equal(groups.stdout.trim(), String(u.gid));
      const env = await u.run("env", [], { env: { EXTRA: "1" } });
      assert.deepEqual(env.stdout.trim().split("\n").sort(), [
        "EXTRA=1",
        `HOME=${u.home}`,
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        `USER=${u.name}`,
        `XDG_RUNTIME_DIR=${u.runtimeDir}`,
      ]);
      // It works in its home (the default cwd) and reads stdin; root's files stay closed to it.
      const write = await u.run("sh", ["-c", "cat > note && pwd && cat /etc/shadow"], {
        stdin: "hello",
      });
      assert.equal(write.stdout.trim(), u.home);
      assert.match(write.stderr, /Permission denied/);
      assert.equal(Deno.readTextFileSync(`${u.home}/note`), "hello");
      assert.equal(Deno.statSync(`${u.home}/note`).uid, u.uid);
      // A program that overruns its timeout is killed.
      const slow = await u.run("sleep", ["10"], { timeoutMs: 200 });
      assert.equal(slow.timedOut, true);
      assert.equal(slow.signal, "SIGKILL");
      assert.equal(u.subuid, undefined);
      assert.deepEqual(subFiles(), before);
    });
  } finally {
    Deno.env.delete("DENKI_USERS_TEST_SECRET");
  }
  assert.ok(seen !== undefined);
  assertGone(seen, before);
});

testWith(
  "withTestUser: after the test throws, its processes and the user are gone",
  NEEDS,
  async () => {
    const before = subFiles();
    let seen: TestUser | undefined;
    let straggler = 0;
    await assert.rejects(
      () =>
        withTestUser(async (u) => {
          seen = u;
          // A process that outlives the command that started it, in a session of its own.
          const r = await u.run("sh", [
            "-c",
            "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!",
          ]);
          straggler = Number(r.stdout.trim());
          assert.ok(straggler > 0);
          assert.deepEqual(pidsOfUid(u.uid), [straggler]);
          assert.ok(bytesOf("/etc/subuid")!.length > 0);
          throw new Error("the test failed here");
        }, { subids: true }),
      /^Error: the test failed here$/,
    );
    assert.ok(seen !== undefined);
    assert.equal(alive(straggler), false, `pid ${straggler} still runs`);
    assertGone(seen, before);
  },
);

testWith(
  "withTestUser with subids: a range above every other, mapped by the user through newuidmap",
  [...NEEDS, program("newuidmap"), program("newgidmap"), program("unshare")],
  async () => {
    const before = subFiles();
    let seen: TestUser | undefined;
    await withTestUser(async (u) => {
      seen = u;
      const range = u.subuid!;
      assert.equal(range.count, SUBID_COUNT);
      assert.equal(range.start % SUBID_COUNT, 0);
      assert.deepEqual(u.subgid, range);
      for (const file of ["/etc/subuid", "/etc/subgid"]) {
        const lines = Deno.readTextFileSync(file).trim().split("\n");
        assert.ok(lines.includes(`${u.name}:${range.start}:${range.count}`), file);
        // Above every other line, so it overlaps none.
        for (const l of lines.filter((l) => !l.startsWith(`${u.name}:`))) {
          const [, start, count] = l.split(":").map(Number);
          assert.ok(start! + count! <= range.start, `${file}: ${l} overlaps`);
        }
      }
      // As the user: check the maps with the real host files, then write them into a process
      // of its own in a new user namespace, through newgidmap and newuidmap.
      const url = new URL("../lib/linux/userns.ts", import.meta.url).href;
      const script = `
        import { idMapProblems, writeIdMaps } from ${JSON.stringify(url)};
        const me = { uid: Deno.uid(), gid: Deno.gid() };
        const uid = [{ containerID: 0, hostID: me.uid, size: 1 },
          { containerID: 1, hostID: ${range.start}, size: ${range.count} }];
        const gid = [{ containerID: 0, hostID: me.gid, size: 1 },
          { containerID: 1, hostID: ${range.start}, size: ${range.count} }];
        const tooMany = [{ containerID: 0, hostID: ${range.start}, size: ${range.count + 1} }];
        console.log(JSON.stringify(idMapProblems({ uidMappings: uid, gidMappings: gid }, me)));
        console.log(JSON.stringify(idMapProblems({ uidMappings: tooMany, gidMappings: gid }, me)));
        const child = new Deno.Command("unshare", { args: ["--user", "sleep", "30"] }).spawn();
        try {
          const ours = Deno.readLinkSync("/proc/self/ns/user");
          while (Deno.readLinkSync("/proc/" + child.pid + "/ns/user") === ours) {
            await new Promise((r) => setTimeout(r, 10));
          }
          await writeIdMaps(child.pid, uid, gid, me);
          for (const f of ["uid_map", "gid_map", "setgroups"]) {
            const text = Deno.readTextFileSync("/proc/" + child.pid + "/" + f);
            console.log(text.trim().split(/\\s+/).join(" "));
          }
        } finally {
          child.kill("SIGKILL");
          await child.status;
        }`;
      const r = await u.run(
        Deno.execPath(),
        ["eval", "--no-config", script],
        { env: { DENO_DIR: `${u.home}/deno`, NO_COLOR: "1" }, timeoutMs: 30_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      const [ok, bad, uidMap, gidMap, setgroups] = r.stdout.trim().split("\n");
      assert.equal(ok, "[]");
      assert.deepEqual(JSON.parse(bad!), [
        `linux.uidMappings[0]: host uids ${range.start}-${range.start + range.count} are ` +
        `neither your own uid ${u.uid} nor inside your ranges in /etc/subuid (${u.name} ` +
        `(uid ${u.uid}) has ${range.start}-${range.start + range.count - 1})`,
      ]);
      assert.equal(uidMap, `0 ${u.uid} 1 1 ${range.start} ${range.count}`);
      assert.equal(gidMap, `0 ${u.gid} 1 1 ${range.start} ${range.count}`);
      // newgidmap leaves setgroups allowed when a subordinate range is mapped.
      assert.equal(setgroups, "allow");
    }, { subids: true });
    assert.ok(seen !== undefined);
    assertGone(seen, before);
  },
);

testWith("withTestUser: two users at once get distinct users and ranges", NEEDS, async () => {
  const before = subFiles();
  const seen: TestUser[] = [];
  await Promise.all([0, 1].map(() =>
    withTestUser(async (u) => {
      seen.push(u);
      // Wait until both exist, so that each sees the other's lines.
      while (seen.length < 2) await new Promise((r) => setTimeout(r, 10));
      const text = Deno.readTextFileSync("/etc/subuid");
      for (const v of seen) assert.ok(text.includes(`${v.name}:${v.subuid!.start}:`), text);
    }, { subids: true })
  ));
  const [a, b] = seen as [TestUser, TestUser];
  assert.notEqual(a.name, b.name);
  assert.notEqual(a.uid, b.uid);
  assert.ok(
    a.subuid!.start + SUBID_COUNT <= b.subuid!.start ||
      b.subuid!.start + SUBID_COUNT <= a.subuid!.start,
  );
  assertGone(a, before);
  assertGone(b, before);
});
