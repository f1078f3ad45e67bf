/**
 * Rootless Linux containers: a user made for the test (tests/support/users.ts) runs denki
 * itself, with a user namespace in the config: its own uid mapped to 0 (written directly, with
 * setgroups denied), or with its /etc/subuid range too (through newuidmap/newgidmap). The
 * workload proves it ran (markers, its own uid_map), a file made by a container uid lands on
 * the host as the matching subordinate uid, the caller's environment never reaches it, the
 * lifecycle (create, start, exec, kill, delete) works without a cgroup, and a failure at each
 * step of create leaves nothing: no state, no process of the user's, no mount.
 */
import assert from "node:assert/strict";
import { defaultSpec } from "../lib/spec/default.ts";
import { busyboxRootfs, type Json } from "./support/container.ts";
import { LAUNCHER } from "./support/denki.ts";
import { program, root, testWith } from "./support/requires.ts";
import { pidsOfUid, type TestUser, withTestUser } from "./support/users.ts";
import { exists } from "./support/fs.ts";

const REQS = [
  root(),
  program("busybox"),
  program("useradd"),
  program("setpriv"),
  program("newuidmap"),
  program("newgidmap"),
];

const SECRET = "DENKI_CALLERS_SECRET";

function sh(cmd: string, args: string[]): void {
  const out = new Deno.Command(cmd, { args, stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

let calls = 0;

/**
 * `denki <args>` run by the test user, with a secret in its environment; its output goes
 * through files (a created container keeps the caller's stdio open until it exits).
 */
async function denki(u: TestUser, args: string[]) {
  const out = `${u.home}/out-${calls}`;
  const err = `${u.home}/err-${calls++}`;
  const r = await u.run("/bin/sh", [
    "-c",
    'exec "$0" "$@" </dev/null >"$OUT" 2>"$ERR"',
    LAUNCHER,
    ...args,
  ], { env: { DENKI_DENO: Deno.execPath(), [SECRET]: "leak-e5f6", OUT: out, ERR: err } });
  return { code: r.code, stdout: Deno.readTextFileSync(out), stderr: Deno.readTextFileSync(err) };
}

/**
 * A bundle in the user's home (a copy of busybox's rootfs, owned by the user, so the
 * namespace's root owns it), with `denki spec --rootless`'s config and `args`; with `subids`
 * the maps add the user's subordinate ranges for ids 1 and up.
 */
function bundle(u: TestUser, name: string, args: string[], patch: (c: Json) => void = () => {}) {
  const dir = `${u.home}/${name}`;
  Deno.mkdirSync(dir);
  sh("cp", ["-a", busyboxRootfs(), `${dir}/rootfs`]);
  const c: Json = defaultSpec({ rootless: true, uid: u.uid, gid: u.gid });
  c.process.terminal = false;
  c.process.args = args;
  c.process.env = ["PATH=/bin", "FROM_CONFIG=yes"];
  if (u.subuid !== undefined && u.subgid !== undefined) {
    c.linux.uidMappings.push({ containerID: 1, hostID: u.subuid.start, size: u.subuid.count });
    c.linux.gidMappings.push({ containerID: 1, hostID: u.subgid.start, size: u.subgid.count });
  }
  patch(c);
  Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(c));
  sh("chown", ["-R", `${u.uid}:${u.gid}`, dir]);
  return dir;
}

/** The container directories left in the user's state root. */
function stateLeft(u: TestUser): string[] {
  const root = `${u.runtimeDir}/denki`;
  if (!exists(root)) return [];
  return [...Deno.readDirSync(root)].filter((e) => e.isDirectory && !e.name.startsWith("@"))
    .map((e) => e.name);
}

/** Asserts that nothing of the user's is left: state, processes, mounts of its home. */
function assertNothingLeft(u: TestUser, what: string): void {
  assert.deepEqual(stateLeft(u), [], `${what}: state left`);
  assert.deepEqual(pidsOfUid(u.uid), [], `${what}: processes of the user left`);
  const mounts = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .filter((l) => l.includes(u.home));
  assert.deepEqual(mounts, [], `${what}: mounts left`);
}

testWith(
  "rootless: the caller's own uid as root of the container; nothing of its environment inside",
  REQS,
  () =>
    withTestUser(async (u) => {
      const dir = bundle(u, "one", [
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; cat /proc/self/setgroups; env; echo rootless-marker",
      ]);
      const r = await denki(u, ["run", "--bundle", dir, "r1"]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "));
      assert.deepEqual(lines.slice(0, 3), ["0", `0 ${u.uid} 1`, "deny"]);
      assert.ok(lines.includes("FROM_CONFIG=yes"), r.stdout);
      assert.ok(!r.stdout.includes(SECRET), `the caller's environment leaked: ${r.stdout}`);
      assert.equal(lines.at(-1), "rootless-marker");
      assertNothingLeft(u, "after run");
    }),
);

testWith(
  "rootless: subordinate ranges through newuidmap; a container uid's file is its subuid on the host",
  REQS,
  () =>
    withTestUser(async (u) => {
      // A directory any uid may write in, bound into the container.
      const shared = Deno.makeTempDirSync({ prefix: "denki-rootless-shared-" });
      try {
        Deno.chmodSync(shared, 0o777);
        const dir = bundle(u, "sub", [
          "sh",
          "-c",
          "cat /proc/self/uid_map; id -u; touch /shared/by-1000; echo subuid-marker",
        ], (c) => {
          c.process.user = { uid: 1000, gid: 1000 };
          c.mounts.push({
            destination: "/shared",
            type: "bind",
            source: shared,
            options: ["rbind"],
          });
        });
        const r = await denki(u, ["run", "--bundle", dir, "r2"]);
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "));
        assert.deepEqual(lines, [
          `0 ${u.uid} 1`,
          `1 ${u.subuid!.start} ${u.subuid!.count}`,
          "1000",
          "subuid-marker",
        ]);
        const st = Deno.statSync(`${shared}/by-1000`);
        assert.equal(st.uid, u.subuid!.start + 999);
        assert.equal(st.gid, u.subgid!.start + 999);
        assertNothingLeft(u, "after run");
      } finally {
        Deno.removeSync(shared, { recursive: true });
      }
    }, { subids: true }),
);

testWith(
  "rootless: create, start, exec, kill, delete without a cgroup (resources warned about once)",
  REQS,
  () =>
    withTestUser(async (u) => {
      const dir = bundle(u, "life", ["sh", "-c", "echo up > /dev/shm/up; exec sleep 100"], (c) => {
        c.linux.resources = { memory: { limit: 64 << 20 } };
      });
      const created = await denki(u, ["create", "--bundle", dir, "r3"]);
      assert.equal(created.code, 0, created.stderr);
      const warnings = created.stderr.split("\n").filter((l) => l.includes("level=warn"));
      assert.equal(warnings.length, 1, created.stderr);
      assert.match(warnings[0]!, /not enforced: a rootless container gets no cgroup/);
      assert.equal((await denki(u, ["start", "r3"])).code, 0);
      const state = JSON.parse((await denki(u, ["state", "r3"])).stdout);
      assert.equal(state.status, "running");
      let e = await denki(u, ["exec", "r3", "cat", "/dev/shm/up"]);
      for (let i = 0; i < 50 && e.stdout !== "up\n"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        e = await denki(u, ["exec", "r3", "cat", "/dev/shm/up"]);
      }
      assert.equal(e.stdout, "up\n", e.stderr);
      const who = await denki(u, ["exec", "r3", "sh", "-c", "id -u; cat /proc/self/uid_map"]);
      assert.equal(who.code, 0, who.stderr);
      assert.equal(who.stdout.trim().replace(/\s+/g, " "), `0 0 ${u.uid} 1`);
      assert.equal((await denki(u, ["kill", "r3", "KILL"])).code, 0);
      assert.equal((await denki(u, ["delete", "--force", "r3"])).code, 0);
      assertNothingLeft(u, "after delete");
    }),
);

testWith(
  "rootless: a failure at each step of create is one line and leaves nothing",
  REQS,
  () =>
    withTestUser(async (u) => {
      const cases: [string, (c: Json) => void, RegExp][] = [
        [
          "someone else's uid",
          (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }]),
          /uidMappings/,
        ],
        // An attack: the host's own user namespace, where it would be someone.
        ["joining the host's user namespace", (c) => {
          c.linux.namespaces = c.linux.namespaces.map((n: Json) =>
            n.type === "user" ? { type: "user", path: "/proc/1/ns/user" } : n
          );
          delete c.linux.uidMappings;
          delete c.linux.gidMappings;
        }, /user namespace \/proc\/1\/ns\/user/],
        ["a range it was not given", (c) => {
          c.linux.uidMappings.push({ containerID: 1, hostID: 200000, size: 10 });
        }, /uidMappings/],
        ["a missing bind source", (c) => {
          c.mounts.push({
            destination: "/m",
            type: "bind",
            source: "/nonexistent-src",
            options: ["rbind"],
          });
        }, /the source does not exist/],
        // Only the kernel (in the init, inside the namespaces) finds this one wrong.
        ["a mount the kernel refuses", (c) => {
          c.mounts.push({
            destination: "/m",
            type: "tmpfs",
            source: "tmpfs",
            options: ["size=bogus"],
          });
        }, /cannot mount tmpfs .*\/m/],
        ["a failing createRuntime hook", (c) => {
          c.hooks = { createRuntime: [{ path: "/bin/false" }] };
        }, /createRuntime hook \/bin\/false failed/],
        [
          "a program that is not there",
          (c) => (c.process.args = ["no-such-program"]),
          /no-such-program/,
        ],
      ];
      let n = 0;
      for (const [what, patch, error] of cases) {
        const dir = bundle(u, `fail${n}`, ["true"], patch);
        const r = await denki(u, ["run", "--bundle", dir, `f${n++}`]);
        assert.notEqual(r.code, 0, `${what}: it ran`);
        const errors = r.stderr.trim().split("\n").filter((l) => l.includes("level=error"));
        assert.equal(errors.length, 1, `${what}: ${r.stderr}`);
        assert.match(errors[0]!, error, what);
        assertNothingLeft(u, what);
      }
    }),
);
