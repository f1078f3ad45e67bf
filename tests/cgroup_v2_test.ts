/**
 * The cgroup v2 code paths on the real kernel. This host's cgroup2 hierarchy has almost no
 * controllers (they are bound to v1), but the v2 core is all there: a manager given a layout
 * that holds only the cgroup2 mount acts as on a unified host for placement, cgroup.freeze,
 * process listing, the BPF device filter and removal. Controller files (memory.max, ...) are
 * covered by the unit tests against the in-memory cgroupfs. On the hybrid host itself, a
 * container through bin/denki shows that the v2 side leaves v1's settings alone (route.ts).
 */
import assert from "node:assert/strict";
import { parseLayout } from "../lib/cgroups/layout.ts";
import { Cgroup } from "../lib/cgroups/manager.ts";
import type { Json } from "./support/container.ts";
import {
  cgFile,
  deleteAndCheck,
  exists,
  launch,
  MiB,
  PARENT,
  pathOf,
  readOr,
  REQS,
  T,
  v1,
  waitFor,
} from "./support/cgroups.ts";
import { run } from "./support/denki.ts";
import { program, type Requirement, root, testWith } from "./support/requires.ts";

/** The cgroup2 mount line of this host, if there is one. */
function cgroup2Line(): string | undefined {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .find((l) => l.split(" - ")[1]?.startsWith("cgroup2 "));
}

function cgroup2(): Requirement {
  return cgroup2Line() ? undefined : "no cgroup2 hierarchy is mounted";
}

/** A unified-only layout over the host's cgroup2 mount. */
function unifiedLayout() {
  return parseLayout(cgroup2Line()!, "");
}

async function exitedSoon(child: Deno.ChildProcess): Promise<Deno.CommandStatus> {
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  try {
    return await child.status;
  } finally {
    clearTimeout(timer);
  }
}

testWith(
  "cgroup v2: join, freeze and thaw, list, device filter, removal",
  [root(), cgroup2()],
  async () => {
    const path = `/denki-v2-test-${Deno.pid}/c1`;
    const cg = Cgroup.create(unifiedLayout(), path, undefined);
    const leaf = cg.rec.v2!;
    const parent = leaf.slice(0, leaf.lastIndexOf("/"));
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        "read go; (: < /dev/kmsg) 2>/dev/null && echo kmsg-ok || echo kmsg-denied; " +
        "cat /dev/null && echo null-ok; read done",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const stdin = child.stdin.getWriter();
    try {
      assert.deepEqual(cg.rec.v1, {});
      assert.deepEqual(cg.rec.created, [parent, leaf]);
      cg.join(child.pid);
      assert.deepEqual(cg.pids(), [child.pid]);
      // Deny all: only the defaults every container gets remain (/dev/null yes, /dev/kmsg no).
      cg.apply({ devices: [{ allow: false, access: "rwm" }] }, { devices: true });
      await cg.freeze();
      assert.equal(cg.freezerState(), "frozen");
      assert.match(Deno.readTextFileSync(`${leaf}/cgroup.events`), /^frozen 1$/m);
      await cg.thaw();
      assert.equal(cg.freezerState(), "thawed");
      await stdin.write(new TextEncoder().encode("go\n"));
      const reader = child.stdout.getReader();
      let out = "";
      while (!out.includes("null-ok")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      assert.match(out, /kmsg-denied/);
      assert.match(out, /null-ok/);
      await stdin.write(new TextEncoder().encode("done\n"));
      await stdin.close();
      assert.equal((await exitedSoon(child)).code, 0);
      await cg.remove();
      assert.throws(() => Deno.statSync(leaf));
      assert.throws(() => Deno.statSync(parent), "the parent denki made is gone too");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      for (const dir of [leaf, parent]) {
        try {
          Deno.removeSync(dir);
        } catch {
          // removed by the test
        }
      }
    }
  },
);

/** Requirement: a hybrid host whose v1 cpu controller has real-time group scheduling on. */
function rtGroups(): Requirement {
  let cpu: string;
  try {
    cpu = v1("cpu");
  } catch {
    return "no cgroup v1 cpu hierarchy";
  }
  if (cgroup2Line() === undefined) return "no cgroup2 hierarchy beside v1 (not a hybrid host)";
  if (!exists(`${cpu}/cpu.rt_runtime_us`)) {
    return "no real-time group scheduling (cpu.rt_runtime_us)";
  }
  const limit = readOr("/proc/sys/kernel/sched_rt_runtime_us").trim();
  return limit === "-1" ? "real-time throttling is off (sched_rt_runtime_us -1)" : undefined;
}

/** `chrt -r -p 1 PID`: true when the kernel let the process become real-time. */
async function makeRealtime(pid: number): Promise<boolean> {
  const out = await new Deno.Command("chrt", {
    args: ["-r", "-p", "1", String(pid)],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

T(
  "hybrid host: real-time CPU and a lone swap limit go to v1's files, as runc writes them",
  async (lab) => {
    // A new cgroup gets no real-time budget, so the containers' parent needs one to share.
    const cpuParent = `${v1("cpu")}${PARENT}`;
    const runcRoot = `${lab.dir}/runc`;
    Deno.mkdirSync(cpuParent);
    let control: Deno.ChildProcess | undefined;
    try {
      Deno.writeTextFileSync(`${cpuParent}/cpu.rt_runtime_us`, "100000");
      const patch = (c: Json) => {
        c.root.readonly = false;
        c.linux.resources.cpu = { realtimePeriod: 1000000, realtimeRuntime: 20000 };
        c.linux.resources.memory = { limit: 64 * MiB };
      };
      const { pid, path, rootfs } = await launch(
        lab,
        "rt",
        ["sh", "-c", "echo rt-ran > /marker; exec sleep 100"],
        patch,
      );
      await waitFor("the workload's marker", () => readOr(`${rootfs}/marker`) === "rt-ran\n");
      const cpu = (p: string, f: string) => cgFile("cpu", p, f);
      assert.equal(cpu(path, "cpu.rt_period_us"), "1000000");
      assert.equal(cpu(path, "cpu.rt_runtime_us"), "20000");
      // The budget is in force: the kernel lets the workload become real-time, and refuses
      // a process of a cgroup without one (the control).
      const noBudget = `${cpuParent}/control`;
      Deno.mkdirSync(noBudget);
      control = new Deno.Command("sleep", { args: ["100"] }).spawn();
      Deno.writeTextFileSync(`${noBudget}/cgroup.procs`, String(control.pid));
      assert.equal(await makeRealtime(control.pid), false, "no budget: SCHED_RR refused");
      assert.equal(await makeRealtime(pid), true, "the container's budget lets it in");
      assert.match(Deno.readTextFileSync(`/proc/${pid}/sched`), /^policy\s+:\s+2$/m);

      // runc, given the same config, writes the same two files.
      const rb = lab.bundle((c) => {
        c.process.args = ["sleep", "100"];
        c.linux.cgroupsPath = pathOf("rt-runc");
        patch(c);
      });
      const r = await run(["--root", runcRoot, "run", "-d", "--bundle", rb.dir, "rt-runc"], {
        program: "runc",
        files: true,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(cpu(pathOf("rt-runc"), "cpu.rt_period_us"), "1000000");
      assert.equal(cpu(pathOf("rt-runc"), "cpu.rt_runtime_us"), "20000");

      // A swap limit alone is checked by v1 against the memory limit already set.
      const mem = () => cgFile("memory", path, "memory.memsw.limit_in_bytes");
      const u1 = await lab.denki(["update", "--memory-swap", "128m", "rt"]);
      assert.equal(u1.code, 0, u1.stderr);
      assert.equal(mem(), String(128 * MiB));
      const u2 = await lab.denki(["update", "-r", "-", "rt"], {
        input: JSON.stringify({ memory: { swap: 192 * MiB } }),
      });
      assert.equal(u2.code, 0, u2.stderr);
      assert.equal(mem(), String(192 * MiB));
      assert.equal(cgFile("memory", path, "memory.limit_in_bytes"), String(64 * MiB));
      const u3 = await lab.denki(["update", "--cpu-rt-runtime", "30000", "rt"]);
      assert.equal(u3.code, 0, u3.stderr);
      assert.equal(cpu(path, "cpu.rt_runtime_us"), "30000");
      const ru = await run(["--root", runcRoot, "update", "--memory-swap", "128m", "rt-runc"], {
        program: "runc",
      });
      assert.equal(ru.code, 0, ru.stderr);
      assert.equal(
        cgFile("memory", pathOf("rt-runc"), "memory.memsw.limit_in_bytes"),
        String(128 * MiB),
      );
      // The unified side got none of it: its directory holds only core files.
      const unified = `${cgroup2Line()!.split(" ")[4]}${path}`;
      const files = [...Deno.readDirSync(unified)].map((e) => e.name);
      assert.deepEqual(files.filter((f) => /^(cpu\.rt|memory\.(max|swap))/.test(f)), []);
      assert.equal(readOr(`${unified}/cgroup.subtree_control`).trim(), "");
      assert.equal(readOr(`${rootfs}/marker`), "rt-ran\n");

      const rd = await run(["--root", runcRoot, "delete", "--force", "rt-runc"], {
        program: "runc",
      });
      assert.equal(rd.code, 0, rd.stderr);
      await deleteAndCheck(lab, "rt", true, false);
    } finally {
      if (control !== undefined) {
        control.kill("SIGKILL");
        await control.status;
      }
      await run(["--root", runcRoot, "delete", "--force", "rt-runc"], { program: "runc" });
      await lab.denki(["delete", "--force", "rt"]);
      for (const dir of [`${cpuParent}/control`, cpuParent]) {
        try {
          Deno.removeSync(dir);
        } catch {
          // not made, or already gone
        }
      }
    }
  },
  [...REQS, program("runc"), program("chrt"), rtGroups()],
);
