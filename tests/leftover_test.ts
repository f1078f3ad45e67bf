/**
 * Half-made containers: a create killed midway (here: SIGKILL while its createRuntime hook
 * runs) leaves a directory that says what it made; `delete -f`, or the next create of the
 * id, removes it with its cgroups. And configs too large for the init's channel are refused
 * in one line, leaving nothing.
 */
import assert from "node:assert/strict";
import type { Json, Lab } from "./support/container.ts";
import {
  assertNoCgroup,
  cgroupDirs,
  exists,
  pathOf,
  sleep,
  T,
  waitFor,
} from "./support/cgroups.ts";
import { LAUNCHER } from "./support/denki.ts";

/** Starts `create` of `id` in the background; its createRuntime hook writes its pid, then sleeps. */
function createStuckInHook(lab: Lab, id: string): { child: Deno.ChildProcess; marker: string } {
  const marker = `${lab.dir}/${id}.hook-pid`;
  const b = lab.bundle((c: Json) => {
    c.process.args = ["true"];
    c.linux.cgroupsPath = pathOf(id);
    c.hooks = {
      createRuntime: [{
        path: "/bin/sh",
        args: ["sh", "-c", `echo $$ > ${marker}; exec sleep 60`],
      }],
    };
  });
  const child = new Deno.Command(LAUNCHER, {
    args: ["--root", lab.root, "create", "--bundle", b.dir, id],
    clearEnv: true,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", DENKI_DENO: Deno.execPath() },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { child, marker };
}

/** Kills `create` while its hook sleeps; returns the leftover's creating record. */
async function killMidway(lab: Lab, id: string): Promise<Json> {
  const { child, marker } = createStuckInHook(lab, id);
  let hook: number | undefined;
  try {
    await waitFor(
      "the createRuntime hook",
      () => exists(marker) && /\d/.test(read(marker)),
      30_000,
    );
    hook = Number(read(marker).trim());
    // The cgroup exists now (the init is in it): what delete must find and remove.
    assert.ok(cgroupDirs(pathOf(id)).some(exists), "create made the cgroup");
  } finally {
    child.kill("SIGKILL");
    await child.status;
    // The hook is create's child, not the container's: it outlives create; end it here.
    if (hook !== undefined) {
      try {
        Deno.kill(hook, "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
  const dir = `${lab.root}/${id}`;
  assert.ok(!exists(`${dir}/state.json`), "create died before it recorded the container");
  const rec = JSON.parse(Deno.readTextFileSync(`${dir}/creating.json`));
  assert.equal(rec.cgroup.path, pathOf(id), "where the cgroup went was recorded");
  assert.ok(rec.pid > 0, "the init was recorded");
  return rec;
}

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
  } catch {
    return false;
  }
}

T(
  "delete -f removes what a create killed midway left: state directory and cgroups",
  async (lab) => {
    const rec = await killMidway(lab, "half");
    // Shown by list (its create is gone: stopped), unknown to state, as under runc.
    const list = await lab.denki(["list", "--format", "json"]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      JSON.parse(list.stdout).map((s: Json) => [s.id, s.status, s.pid, s.bundle !== ""]),
      [["half", "stopped", 0, true]],
    );
    assert.equal((await lab.denki(["state", "half"])).code, 1);
    const del = await lab.denki(["delete", "-f", "half"]);
    assert.equal(del.code, 0, del.stderr);
    assert.ok(!exists(`${lab.root}/half`), "the state directory is gone");
    assertNoCgroup(pathOf("half"), "delete -f of a half-made container");
    // Its init, if it had not exited on its own, is gone too.
    await waitFor("the leftover init to go", () => !alive(rec.pid), 5_000);
    assert.deepEqual((await lab.denki(["list", "-q"])).stdout, "");
  },
);

T("the next create of the id undoes a killed create's leftover and succeeds", async (lab) => {
  await killMidway(lab, "again");
  const b = lab.bundle((c: Json) => {
    c.process.args = ["true"];
    c.linux.cgroupsPath = pathOf("again");
  });
  const r = await lab.denki(["create", "--bundle", b.dir, "again"]);
  assert.equal(r.code, 0, r.stderr);
  const state = JSON.parse((await lab.denki(["state", "again"])).stdout);
  assert.equal(state.status, "created");
  assert.deepEqual(
    [...Deno.readDirSync(`${lab.root}/again`)].map((e) => e.name).sort(),
    ["exec.fifo", "state.json"],
    "no creating record once recorded",
  );
  const del = await lab.denki(["delete", "-f", "again"]);
  assert.equal(del.code, 0, del.stderr);
  assertNoCgroup(pathOf("again"), "delete after reuse");
});

T("list shows a container being created as creating, with its init's pid", async (lab) => {
  const { child, marker } = createStuckInHook(lab, "busy");
  try {
    await waitFor("the createRuntime hook", () => /\d/.test(read(marker)), 30_000);
    const list = JSON.parse((await lab.denki(["list", "--format", "json"])).stdout);
    assert.equal(list.length, 1);
    assert.equal(list[0].status, "creating");
    assert.ok(list[0].pid > 0 && alive(list[0].pid), "the init's pid");
  } finally {
    child.kill("SIGKILL");
    await child.status;
    try {
      Deno.kill(Number(read(marker).trim()), "SIGKILL");
    } catch {
      // gone already
    }
  }
  assert.equal((await lab.denki(["delete", "busy"])).code, 0);
  assertNoCgroup(pathOf("busy"), "delete of a half-made container without --force");
});

T("a config.json larger than denki takes is refused in one line, leaving nothing", async (lab) => {
  const b = lab.bundle((c: Json) => {
    c.process.args = ["true"];
    c.linux.cgroupsPath = pathOf("big");
    c.annotations = { "org.example.big": "x".repeat(65 * 1024 * 1024) };
  });
  const r = await lab.denki(["create", "--bundle", b.dir, "big"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr.slice(0, 500));
  assert.match(r.stderr, /more than the 67108864 \(64 Mi\) denki accepts/);
  assert.ok(r.stderr.length < 400);
  assert.deepEqual(lab.containers(), []);
  assertNoCgroup(pathOf("big"), "a refused config");
  // A large config that fits crosses the channel whole (the workload sees nothing of it, so
  // the init's own copy is what is checked: state reads it back from the record).
  await sleep(0);
  const fits = lab.bundle((c: Json) => {
    c.process.args = ["true"];
    c.linux.cgroupsPath = pathOf("fits");
    c.annotations = { "org.example.big": "y".repeat(20 * 1000 * 1000) };
  });
  const ok = await lab.denki(["create", "--bundle", fits.dir, "fits"]);
  assert.equal(ok.code, 0, ok.stderr.slice(0, 500));
  const state = JSON.parse((await lab.denki(["state", "fits"])).stdout);
  assert.equal(state.annotations["org.example.big"].length, 20 * 1000 * 1000);
  assert.equal((await lab.denki(["delete", "-f", "fits"])).code, 0);
});
