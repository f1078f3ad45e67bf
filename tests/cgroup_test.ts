/**
 * Container cgroups end to end, through bin/denki: limits read back from the real cgroup
 * files, refused settings, OOM events, the pids limit, pause/resume, update, ps, kill --all
 * and delete. Every container gets a cgroup under /denki-test-<pid>; each test checks that
 * delete removes it, and whatever a failing test leaves is removed in its finally.
 * Needs root and the hybrid (or legacy v1) layout: v1 memory, cpu, cpuset, pids, blkio,
 * devices and freezer hierarchies.
 */
import assert from "node:assert/strict";
import { exited, type Json } from "./support/container.ts";
import { LAUNCHER } from "./support/denki.ts";
import {
  assertNoCgroup,
  cgFile,
  cgroupDirs,
  cgroupProcs,
  deleteAndCheck,
  exists,
  holders,
  launch,
  MiB,
  MOUNTS,
  PARENT,
  pathOf,
  procsIn,
  readOr,
  REQS,
  rootDisk,
  sleep,
  sleepers,
  stateOf,
  T,
  v1,
  V1_NEEDED,
  waitFor,
  waitStatus,
} from "./support/cgroups.ts";
import { program, type Requirement } from "./support/requires.ts";

T(
  "resources are written to the v1 controllers and the init joins every hierarchy",
  async (lab, t) => {
    const disk = rootDisk();
    const id = "res";
    const { pid, path } = await launch(lab, id, ["sleep", "100"], (c) => {
      c.linux.resources = {
        ...c.linux.resources,
        memory: {
          limit: 64 * MiB,
          reservation: 32 * MiB,
          swap: 128 * MiB,
          kernelTCP: 16 * MiB,
          swappiness: 10,
          disableOOMKiller: false,
        },
        cpu: {
          shares: 512,
          quota: 50000,
          period: 100000,
          burst: 1000,
          cpus: "0",
          mems: "0",
          idle: 0,
        },
        pids: { limit: 40 },
      };
      if (disk) {
        c.linux.resources.blockIO = {
          throttleReadBpsDevice: [{ ...disk, rate: 10 * MiB }],
          throttleWriteBpsDevice: [{ ...disk, rate: 5 * MiB }],
          throttleReadIOPSDevice: [{ ...disk, rate: 1000 }],
          throttleWriteIOPSDevice: [{ ...disk, rate: 500 }],
        };
      }
    }, false);
    assert.equal((await stateOf(lab, id)).status, "created");
    const mem = (f: string) => cgFile("memory", path, f);
    assert.equal(mem("memory.limit_in_bytes"), String(64 * MiB));
    assert.equal(mem("memory.soft_limit_in_bytes"), String(32 * MiB));
    assert.equal(mem("memory.memsw.limit_in_bytes"), String(128 * MiB));
    assert.equal(mem("memory.kmem.tcp.limit_in_bytes"), String(16 * MiB));
    assert.equal(mem("memory.swappiness"), "10");
    assert.match(mem("memory.oom_control"), /^oom_kill_disable 0$/m);
    const cpu = (f: string) => cgFile("cpu", path, f);
    assert.equal(cpu("cpu.shares"), "512");
    assert.equal(cpu("cpu.cfs_quota_us"), "50000");
    assert.equal(cpu("cpu.cfs_period_us"), "100000");
    assert.equal(cpu("cpu.cfs_burst_us"), "1000");
    assert.equal(cgFile("cpuset", path, "cpuset.cpus"), "0");
    assert.equal(cgFile("cpuset", path, "cpuset.mems"), "0");
    assert.equal(cgFile("pids", path, "pids.max"), "40");
    await t.step({
      name: disk
        ? "blkio throttles of the root disk"
        : "blkio throttles [skipped: / is not on a block device]",
      ignore: disk === undefined,
      fn: () => {
        const d = `${disk!.major}:${disk!.minor}`;
        const blk = (f: string) => cgFile("blkio", path, `blkio.throttle.${f}`);
        assert.equal(blk("read_bps_device"), `${d} ${10 * MiB}`);
        assert.equal(blk("write_bps_device"), `${d} ${5 * MiB}`);
        assert.equal(blk("read_iops_device"), `${d} 1000`);
        assert.equal(blk("write_iops_device"), `${d} 500`);
      },
    });
    // Deny all, the config's rules (only deny all here), then runc's default devices.
    assert.deepEqual(cgFile("devices", path, "devices.list").split("\n"), [
      "c *:* m",
      "b *:* m",
      "c 1:3 rwm",
      "c 1:5 rwm",
      "c 1:7 rwm",
      "c 1:8 rwm",
      "c 1:9 rwm",
      "c 5:0 rwm",
      "c 5:2 rwm",
      "c 136:* rwm",
    ]);
    // The init is in the container's cgroup on every hierarchy denki manages.
    const lines = Deno.readTextFileSync(`/proc/${pid}/cgroup`).trim().split("\n");
    for (const m of MOUNTS) {
      if (!m.v2 && !m.controllers.some((c) => V1_NEEDED.includes(c))) continue;
      const line = lines.find((l) => {
        const [, names] = l.split(":");
        return m.v2 ? names === "" : names!.split(",").some((c) => m.controllers.includes(c));
      });
      assert.ok(line !== undefined, `no /proc/${pid}/cgroup line for ${m.path}`);
      assert.equal(line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1), path, m.path);
      assert.ok(
        procsIn(`${m.path}${path}`).includes(pid),
        `${m.path}: the init is in cgroup.procs`,
      );
    }
    assert.equal((await lab.denki(["start", id])).code, 0);
    assert.equal((await stateOf(lab, id)).status, "running");
    assert.deepEqual(cgroupProcs(path), [pid], "the workload is the init, alone in the cgroup");
    // events --stats: one line of runc's stats, read from these cgroup files.
    const ev = await lab.denki(["events", "--stats", id]);
    assert.equal(ev.code, 0, ev.stderr);
    assert.equal(ev.stdout.trim().split("\n").length, 1, ev.stdout);
    const stats = JSON.parse(ev.stdout);
    assert.equal(stats.type, "stats");
    assert.equal(stats.id, id);
    assert.equal(stats.data.memory.usage.limit, 64 * MiB);
    assert.equal(stats.data.memory.swap.limit, 128 * MiB);
    assert.deepEqual(stats.data.pids, { current: 1, limit: 40 });
    assert.deepEqual(stats.data.cpuset.cpus, [0]);
    await deleteAndCheck(lab, id, true);
    assert.ok(await exited(pid), "the init is gone");
  },
);

T("refused settings name what failed and leave nothing behind", async (lab) => {
  // Where a systemd path could wrongly land, as a slice or as a relative path under /denki.
  const stray = () =>
    [...cgroupDirs("/system.slice"), ...cgroupDirs("/denki/system.slice:denki:abc")].filter(
      exists,
    );
  const strayBefore = stray();
  const cases: [string, (c: Json) => void, RegExp[], string[]?][] = [
    [
      "a CPU that does not exist",
      (c) => (c.linux.resources.cpu = { cpus: "99" }),
      [/linux\.resources\.cpu\.cpus/, /cpuset\.cpus/, /\\"99\\"/],
    ],
    [
      "net_cls, which is not mounted",
      (c) => (c.linux.resources.network = { classID: 0x100001 }),
      [/network\.classID/, /net_cls cgroup controller is not available/],
    ],
    [
      // v1's rule (memory+swap may not be below the memory limit), not v2's translation.
      "a swap limit without a memory limit",
      (c) => (c.linux.resources.memory = { swap: 128 * MiB }),
      [/linux\.resources\.memory\.swap/, /memory\.memsw\.limit_in_bytes: EINVAL/, /memory\.limit/],
    ],
    [
      "a systemd cgroupsPath",
      (c) => (c.linux.cgroupsPath = "system.slice:denki:abc"),
      [/system\.slice:denki:abc/, /systemd/],
    ],
    [
      "--systemd-cgroup",
      () => {},
      [/--systemd-cgroup/, /slice:prefix:name/],
      ["--systemd-cgroup"],
    ],
  ];
  for (const [name, patch, messages, globals = []] of cases) {
    const id = "bad";
    const b = lab.bundle((c) => {
      c.process.args = ["sleep", "100"];
      c.linux.cgroupsPath = pathOf(id);
      patch(c);
    });
    // Stdio to files: a create that wrongly succeeded would keep a pipe open forever.
    const r = await lab.denki([...globals, "create", "--bundle", b.dir, id], { files: true });
    assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    for (const m of messages) assert.match(r.stderr, m, name);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: one line: ${r.stderr}`);
    assert.deepEqual(lab.containers(), [], `${name}: no state left`);
    assertNoCgroup(pathOf(id), name);
    assert.deepEqual(holders(lab.dir), [], `${name}: no process left holding the lab's files`);
    assert.deepEqual(stray(), strayBefore, `${name}: no systemd-style directory made`);
  }
});

T("a memory limit: the OOM killer strikes and events reports it", async (lab) => {
  const id = "oom";
  // awk doubles a string until it is 256 MiB: one process, far past the 32 MiB limit.
  const script = 'awk \'BEGIN { s = "xxxxxxxx"; while (length(s) < 268435456) s = s s; ' +
    "print length(s) }' > /dev/null; echo $? > /status";
  const { path, rootfs } = await launch(lab, id, ["sh", "-c", script], (c) => {
    c.root.readonly = false;
    c.linux.resources.memory = { limit: 32 * MiB, swap: 32 * MiB };
  }, false);
  assert.equal(cgFile("memory", path, "memory.limit_in_bytes"), String(32 * MiB));
  assert.equal(cgFile("memory", path, "memory.memsw.limit_in_bytes"), String(32 * MiB));
  const kills = () =>
    Number(/^oom_kill (\d+)$/m.exec(cgFile("memory", path, "memory.oom_control"))![1]);
  assert.equal(kills(), 0);
  const events = new Deno.Command(LAUNCHER, {
    args: ["--root", lab.root, "events", "--interval", "1s", id],
    clearEnv: true,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", DENKI_DENO: Deno.execPath() },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(events.stderr).text();
  let out = "";
  let ended = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of events.stdout) out += decoder.decode(chunk, { stream: true });
    ended = true;
  })();
  try {
    // The first stats line comes at once: events is watching before the workload runs.
    await waitFor("the first stats event", () => out.includes("\n"));
    assert.equal((await lab.denki(["start", id])).code, 0);
    await waitFor("an oom event", () => /^\{"type":"oom"/m.test(out), 30_000);
    await waitFor("events to exit once the container stopped", () => ended, 30_000);
    const status = await events.status;
    assert.equal(status.code, 0, await stderr);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.filter((l) => l.type === "oom"), [{ type: "oom", id }]);
    const stats = lines.filter((l) => l.type === "stats");
    assert.ok(stats.length >= 1);
    for (const s of stats) {
      assert.equal(s.id, id);
      assert.equal(s.data.memory.usage.limit, 32 * MiB);
    }
    assert.equal(readOr(`${rootfs}/status`).trim(), "137", "awk was killed (SIGKILL)");
    assert.ok(kills() >= 1, "memory.oom_control counts the kill");
    const peak = Number(cgFile("memory", path, "memory.max_usage_in_bytes"));
    assert.ok(peak >= 31 * MiB && peak <= 32 * MiB, `usage peaked at the limit: ${peak}`);
  } finally {
    try {
      events.kill("SIGKILL");
    } catch {
      // it exited by itself
    }
    await events.status;
    await reading.catch(() => {});
    await stderr.catch(() => "");
  }
  await waitStatus(lab, id, "stopped");
  await deleteAndCheck(lab, id);
});

T("a fork bomb stops at the pids limit", async (lab) => {
  const id = "forks";
  // A subshell forks the sleeps: when the kernel refuses a fork, ash gives up on the
  // subshell only, and the shell records what happened.
  const script = "i=0; ( while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); echo $i > /tmp/started; " +
    "done ) 2> /tmp/err; echo $? > /tmp/subshell; echo done > /tmp/done";
  const { path, rootfs } = await launch(lab, id, ["sh", "-c", script], (c) => {
    c.root.readonly = false;
    c.linux.resources.pids = { limit: 20 };
  });
  await waitFor("the workload to finish", () => readOr(`${rootfs}/tmp/done`) !== "", 30_000);
  assert.equal(cgFile("pids", path, "pids.max"), "20");
  // The shell and its subshell are 2 of the 20 tasks: at most 18 sleeps fit.
  const started = Number(readOr(`${rootfs}/tmp/started`).trim());
  assert.ok(started >= 1 && started <= 18, `${started} sleeps started`);
  assert.match(readOr(`${rootfs}/tmp/err`), /can't fork/);
  assert.notEqual(readOr(`${rootfs}/tmp/subshell`).trim(), "0", "the subshell failed");
  if (exists(`${v1("pids")}${path}/pids.events`)) {
    const max = /^max (\d+)$/m.exec(cgFile("pids", path, "pids.events"));
    assert.ok(max && Number(max[1]) >= 1, "pids.events counts the refused forks");
  }
  await waitStatus(lab, id, "stopped");
  await deleteAndCheck(lab, id, true);
});

T("pause freezes the container, resume thaws it", async (lab) => {
  const id = "counter";
  const script = "while :; do echo tick >> /tmp/n; sleep 0.05; done";
  const { path, rootfs } = await launch(lab, id, ["sh", "-c", script], (c) => {
    c.root.readonly = false;
  });
  // One line per tick, appended: a count frozen mid-write still reads as a whole number.
  const count = () => readOr(`${rootfs}/tmp/n`).split("\n").length - 1;
  await waitFor("the counter to run", () => count() > 2);
  const paused = await lab.denki(["pause", id]);
  assert.equal(paused.code, 0, paused.stderr);
  assert.equal((await stateOf(lab, id)).status, "paused");
  assert.equal(cgFile("freezer", path, "freezer.state"), "FROZEN");
  const frozenAt = count();
  await sleep(500);
  assert.equal(count(), frozenAt, "the counter does not move while paused");
  const twice = await lab.denki(["pause", id]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /cannot pause container \\"counter\\": its status is \\"paused\\"/);
  const resumed = await lab.denki(["resume", id]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal((await stateOf(lab, id)).status, "running");
  assert.equal(cgFile("freezer", path, "freezer.state"), "THAWED");
  await waitFor("the counter to move again", () => count() > frozenAt + 2);
  const again = await lab.denki(["resume", id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /cannot resume container \\"counter\\": its status is \\"running\\"/);
  // A stopped container and a missing one cannot be paused.
  await launch(lab, "done", ["true"]);
  await waitStatus(lab, "done", "stopped");
  const stopped = await lab.denki(["pause", "done"]);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /cannot pause container \\"done\\": its status is \\"stopped\\"/);
  await deleteAndCheck(lab, "done", false, false);
  const missing = await lab.denki(["pause", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /container \\"nope\\" does not exist/);
  // Delete of a paused container (force) thaws and kills it.
  assert.equal((await lab.denki(["pause", id])).code, 0);
  await deleteAndCheck(lab, id, true);
});

T("update changes the limits of a live container", async (lab) => {
  const id = "upd";
  const { path } = await launch(lab, id, ["sleep", "100"], (c) => {
    c.linux.resources.memory = { limit: 64 * MiB };
    c.linux.resources.pids = { limit: 40 };
  });
  const r = await lab.denki([
    "update",
    "--memory",
    "48m",
    "--pids-limit",
    "25",
    "--cpu-quota",
    "20000",
    "--cpu-period",
    "100000",
    id,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(cgFile("memory", path, "memory.limit_in_bytes"), String(48 * MiB));
  assert.equal(cgFile("pids", path, "pids.max"), "25");
  assert.equal(cgFile("cpu", path, "cpu.cfs_quota_us"), "20000");
  assert.equal(cgFile("cpu", path, "cpu.cfs_period_us"), "100000");
  const json = await lab.denki(["update", "-r", "-", id], { input: '{"pids":{"limit":33}}' });
  assert.equal(json.code, 0, json.stderr);
  assert.equal(cgFile("pids", path, "pids.max"), "33");
  assert.equal(cgFile("memory", path, "memory.limit_in_bytes"), String(48 * MiB), "unchanged");
  const bad = await lab.denki(["update", "--memory", "lots", id]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--memory \\"lots\\"/);
  assert.equal(cgFile("memory", path, "memory.limit_in_bytes"), String(48 * MiB), "unchanged");
  await deleteAndCheck(lab, id, true);
  await launch(lab, "gone", ["true"]);
  await waitStatus(lab, "gone", "stopped");
  const stopped = await lab.denki(["update", "--pids-limit", "10", "gone"]);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /cannot update container \\"gone\\": it is stopped/);
  await deleteAndCheck(lab, "gone");
});

T("ps lists the container's processes, as JSON and as a ps table", async (lab) => {
  const id = "ps";
  const { pid, path } = await launch(lab, id, sleepers(2));
  await waitFor("two sleeps", () => cgroupProcs(path).length === 3);
  const children = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(" ")
    .map(Number);
  assert.equal(children.length, 2);
  const json = await lab.denki(["ps", "--format", "json", id]);
  assert.equal(json.code, 0, json.stderr);
  const pids: number[] = JSON.parse(json.stdout);
  assert.deepEqual([...pids].sort((a, b) => a - b), [pid, ...children].sort((a, b) => a - b));
  const table = await lab.denki(["ps", id]);
  assert.equal(table.code, 0, table.stderr);
  const [header, ...rows] = table.stdout.trim().split("\n");
  const column = header!.trim().split(/\s+/).indexOf("PID");
  assert.ok(column >= 0, `a PID column: ${header}`);
  assert.deepEqual(
    rows.map((l) => Number(l.trim().split(/\s+/)[column])).sort((a, b) => a - b),
    [...pids].sort((a, b) => a - b),
    "only the container's processes",
  );
  assert.equal(rows.filter((l) => /sleep 100$/.test(l)).length, 2);
  const cols = await lab.denki(["ps", id, "-e", "-o", "pid,comm"]);
  assert.equal(cols.code, 0, cols.stderr);
  assert.match(cols.stdout, /^\s*PID COMMAND\n/);
  assert.equal(cols.stdout.trim().split("\n").length, 4);
  await deleteAndCheck(lab, id, true);
}, [...REQS, program("ps")]);

T("kill --all empties the cgroup; delete removes it", async (lab) => {
  const id = "killall";
  // In the host's pid namespace, so that killing the init alone would leave the sleeps.
  const { pid, path } = await launch(lab, id, sleepers(3), (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== "pid");
  });
  await waitFor("three sleeps", () => cgroupProcs(path).length === 4);
  const procs = cgroupProcs(path);
  const r = await lab.denki(["kill", "--all", id, "KILL"]);
  assert.equal(r.code, 0, r.stderr);
  await waitFor("an empty cgroup.procs", () => cgroupProcs(path).length === 0);
  for (const p of procs) assert.ok(await exited(p), `${p} is gone`);
  assert.ok(await exited(pid));
  await waitStatus(lab, id, "stopped");
  assert.equal(cgFile("freezer", path, "freezer.state"), "THAWED", "not left frozen");
  await deleteAndCheck(lab, id);
});

T("delete --force kills every process of a container in the host's pid namespace", async (lab) => {
  const id = "hostpid";
  const { pid, path } = await launch(lab, id, sleepers(3), (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== "pid");
  });
  await waitFor("three sleeps", () => cgroupProcs(path).length === 4);
  const procs = cgroupProcs(path);
  assert.ok(procs.includes(pid), "host pids: the init is listed as itself");
  const r = await lab.denki(["delete", "--force", id]);
  assert.equal(r.code, 0, r.stderr);
  for (const p of procs) assert.ok(await exited(p), `${p} is gone`);
  assertNoCgroup(path, "delete --force");
  assert.deepEqual(lab.containers(), []);
});

/** Requirement: the kernel has the fuse device (10:229), which opens without privileges. */
function fuseDevice(): Requirement {
  try {
    return /^\s*229 fuse$/m.test(Deno.readTextFileSync("/proc/misc"))
      ? undefined
      : "no fuse device (10:229) in /proc/misc";
  } catch {
    return "cannot read /proc/misc";
  }
}

T("device rules: a listed device node the rules do not allow cannot be opened", async (lab) => {
  // A fuse node opens for any user, so a refusal can only come from the device cgroup (a
  // /dev/kmsg node would be refused anyway, for want of CAP_SYSLOG). Only opened, not read:
  // reading an unmounted fuse device fails too. In a subshell: a failed redirection of `:`
  // ends the shell.
  const script = "ls -l /dev/fuse-test; (: < /dev/fuse-test) && echo opened || echo refused; " +
    "echo hi > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; echo end; sleep 100";
  const check = async (id: string, rules: Json[]) => {
    const { path, rootfs } = await launch(
      lab,
      id,
      ["sh", "-c", `(${script}) > /tmp/out 2>&1`],
      (c) => {
        c.root.readonly = false;
        c.linux.devices = [
          { path: "/dev/fuse-test", type: "c", major: 10, minor: 229, fileMode: 0o666 },
        ];
        assert.deepEqual(c.linux.resources.devices, [{ allow: false, access: "rwm" }]);
        c.linux.resources.devices.push(...rules);
      },
    );
    await waitFor(`${id}: the checks`, () => /^end$/m.test(readOr(`${rootfs}/tmp/out`)));
    const out = readOr(`${rootfs}/tmp/out`);
    const list = cgFile("devices", path, "devices.list");
    await deleteAndCheck(lab, id, true);
    assert.match(out, /^crw-rw-rw- .* 10, +229 .*\/dev\/fuse-test$/m, `${id}: the node was made`);
    assert.match(out, /^null-ok$/m, `${id}: /dev/null writes`);
    assert.match(out, /^4$/m, `${id}: /dev/zero reads`);
    assert.doesNotMatch(list, /^a /m, `${id}: not every device`);
    assert.match(list, /^c 1:3 rwm$/m);
    return { out, list };
  };
  // Only the default deny-all in resources.devices: the node exists but cannot be opened.
  const denied = await check("devdeny", []);
  assert.match(denied.out, /\/dev\/fuse-test'?: Operation not permitted$/m);
  assert.match(denied.out, /^refused$/m);
  assert.doesNotMatch(denied.list, /^c 10:229 /m);
  // The same node with a rule that allows it opens.
  const allowed = await check("devallow", [
    { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
  ]);
  assert.match(allowed.out, /^opened$/m, allowed.out);
  assert.match(allowed.list, /^c 10:229 rw$/m);
}, [...REQS, fuseDevice()]);

T("a shared parent goes with the last container out; a cgroup in use is refused", async (lab) => {
  const a = await launch(lab, "a", ["sleep", "100"]);
  const b = await launch(lab, "b", ["sleep", "100"]);
  // A third container asking for a's cgroup would share (and on delete, kill) a's processes.
  const thief = lab.bundle((c) => {
    c.process.args = ["true"];
    c.linux.cgroupsPath = pathOf("a");
  });
  const r = await lab.denki(["create", "--bundle", thief.dir, "thief"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cgroup ${pathOf("a")} is not empty: 1 process`));
  assert.deepEqual(lab.containers().sort(), ["a", "b"]);
  assert.deepEqual(cgroupProcs(a.path), [a.pid]);
  assert.equal((await stateOf(lab, "a")).status, "running");
  // a made the parent; b still uses it, so it stays until b, which did not make it, goes.
  await deleteAndCheck(lab, "a", true, false);
  assert.ok(exists(`${v1("memory")}${PARENT}`));
  assert.deepEqual(cgroupProcs(b.path), [b.pid]);
  await deleteAndCheck(lab, "b", true, true);
});

T(
  "/sys/fs/cgroup shows the container's own cgroups, with or without a cgroup namespace",
  async (lab) => {
    const script =
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; " +
      "cat /sys/fs/cgroup/pids/cgroup.procs | wc -l; " +
      "touch /sys/fs/cgroup/memory/x 2>/dev/null || echo read-only; " +
      "cat /sys/fs/cgroup/systemd/cgroup.procs | wc -l";
    for (const cgroupns of [true, false]) {
      const id = cgroupns ? "withns" : "nons";
      const b = lab.bundle((c) => {
        c.process.args = ["sh", "-c", script];
        c.linux.cgroupsPath = pathOf(id);
        c.linux.resources = { memory: { limit: 64 * MiB }, pids: { limit: 50 } };
        if (!cgroupns) {
          c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== "cgroup");
        }
      });
      const r = await lab.denki(["run", "--bundle", b.dir, id]);
      assert.equal(r.code, 0, r.stderr);
      // Only the container's processes (the shell and its pipeline), not the host's.
      const [limit, pids, procs, ro, named] = r.stdout.trim().split("\n");
      assert.equal(limit, String(64 * MiB), `cgroupns=${cgroupns}`);
      assert.equal(pids, "50", `cgroupns=${cgroupns}`);
      assert.ok(Number(procs) >= 1 && Number(procs) <= 4, `cgroupns=${cgroupns}: ${procs} procs`);
      assert.equal(ro, "read-only");
      // The named hierarchy (name=systemd) shows the container's own cgroup, not the host's.
      assert.ok(Number(named) >= 1 && Number(named) <= 4, `cgroupns=${cgroupns}: ${named}`);
      assertNoCgroup(pathOf(id), id);
    }
  },
);

T("delete removes cgroups the container made inside its own", async (lab) => {
  const { path } = await launch(lab, "nest", ["sleep", "100"]);
  // What a nested runtime or systemd inside the container would leave: child cgroups.
  for (const dir of cgroupDirs(path)) {
    Deno.mkdirSync(`${dir}/child/grandchild`, { recursive: true });
  }
  await deleteAndCheck(lab, "nest", true);
});

T("deleting a stopped container spares a new container that took over its cgroup", async (lab) => {
  const path = pathOf("shared");
  const bundleFor = (args: string[]) =>
    lab.bundle((c) => {
      c.process.args = args;
      c.linux.cgroupsPath = path;
    });
  const old = await lab.denki(["run", "-d", "--bundle", bundleFor(["true"]).dir, "old"]);
  assert.equal(old.code, 0, old.stderr);
  await waitStatus(lab, "old", "stopped");
  // Its cgroup is empty now, so a new container may be made in it.
  const young = await lab.denki([
    "run",
    "-d",
    "--bundle",
    bundleFor(["sleep", "100"]).dir,
    "young",
  ]);
  assert.equal(young.code, 0, young.stderr);
  const youngPid = (await stateOf(lab, "young")).pid as number;
  const del = await lab.denki(["delete", "old"]);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stderr, /in use by processes of another container/);
  assert.equal((await stateOf(lab, "young")).status, "running", "the new container lives on");
  assert.deepEqual(cgroupProcs(path), [youngPid]);
  await deleteAndCheck(lab, "young", true);
});
