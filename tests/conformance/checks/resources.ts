/**
 * Control groups (config-linux.md#control-groups): limits seen in the container's cgroup files
 * from the host, the cgroup path, device rules, and removal on delete. Works on v1, v2 and
 * hybrid hosts: a controller is looked up in its v1 hierarchy first, then in the unified one.
 */
import assert from "node:assert/strict";
import { type Check, exists, freshId, type Json, readOr, withScratch } from "../runtime.ts";

interface Mount {
  point: string;
  root: string;
  type: string;
  superOptions: string[];
}

function cgroupMounts(): Mount[] {
  return readOr("/proc/self/mountinfo").split("\n").flatMap((line) => {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    const type = f[dash + 1];
    if (dash < 0 || (type !== "cgroup" && type !== "cgroup2")) return [];
    return [{ point: f[4]!, root: f[3]!, type, superOptions: (f[dash + 3] ?? "").split(",") }];
  });
}

/** `pid`'s cgroup for `controller`: its v1 line if a v1 hierarchy has it, else the v2 line. */
function cgroupLine(pid: number, controller: string): { path: string; v2: boolean } {
  const lines = readOr(`/proc/${pid}/cgroup`).trim().split("\n").map((l) => {
    const first = l.indexOf(":");
    const second = l.indexOf(":", first + 1);
    return { ctrls: l.slice(first + 1, second).split(","), path: l.slice(second + 1) };
  });
  const v1 = lines.find((l) => l.ctrls.includes(controller));
  if (
    v1 && cgroupMounts().some((m) => m.type === "cgroup" && m.superOptions.includes(controller))
  ) {
    return { path: v1.path, v2: false };
  }
  const v2 = lines.find((l) => l.ctrls.length === 1 && l.ctrls[0] === "");
  if (!v2) throw new Error(`pid ${pid} has no cgroup for ${controller}`);
  return { path: v2.path, v2: true };
}

/** The host directory of `pid`'s cgroup for `controller`, and whether it is a v2 one. */
export function cgroupDir(pid: number, controller: string): { dir: string; v2: boolean } {
  const { path, v2 } = cgroupLine(pid, controller);
  const m = cgroupMounts().find((m) =>
    v2 ? m.type === "cgroup2" : m.type === "cgroup" && m.superOptions.includes(controller)
  );
  if (!m) throw new Error(`no cgroup mount for ${controller}`);
  const rel = m.root !== "/" && path.startsWith(m.root) ? path.slice(m.root.length) : path;
  return { dir: `${m.point}${rel === "/" ? "" : rel}`, v2 };
}

/** Runs a detached `sleep` container with `resources` and hands its pid to `fn`. */
function withLimited(
  resources: Json,
  fn: (pid: number) => void,
): (rt: Parameters<Check["run"]>[0]) => Promise<void> {
  return (rt) =>
    withScratch(rt, async (s) => {
      const { id } = await s.detached((c) => {
        s.marking("exec sleep 30")(c);
        c.linux.resources = { ...c.linux.resources, ...resources };
      });
      await s.ran();
      fn((await s.state(id)).pid);
    });
}

/** Checks of linux.resources and linux.cgroupsPath. */
export const resourceChecks: Check[] = [
  {
    id: "linux.resources.memory",
    section: "config-linux.md#memory",
    requirement: "memory.limit becomes the container cgroup's memory limit",
    run: withLimited({ memory: { limit: 64 * 1024 * 1024 } }, (pid) => {
      const { dir, v2 } = cgroupDir(pid, "memory");
      const file = v2 ? "memory.max" : "memory.limit_in_bytes";
      assert.equal(readOr(`${dir}/${file}`).trim(), String(64 * 1024 * 1024), `${dir}/${file}`);
    }),
  },
  {
    id: "linux.resources.pids",
    section: "config-linux.md#pids",
    requirement: "pids.limit becomes the container cgroup's pids.max",
    run: withLimited({ pids: { limit: 20 } }, (pid) => {
      const { dir } = cgroupDir(pid, "pids");
      assert.equal(readOr(`${dir}/pids.max`).trim(), "20", `${dir}/pids.max`);
    }),
  },
  {
    id: "linux.resources.cpu",
    section: "config-linux.md#cpu",
    requirement: "cpu.quota and cpu.period become the container cgroup's CFS bandwidth",
    run: withLimited({ cpu: { quota: 50000, period: 100000 } }, (pid) => {
      const { dir, v2 } = cgroupDir(pid, "cpu");
      if (v2) {
        assert.equal(readOr(`${dir}/cpu.max`).trim(), "50000 100000");
      } else {
        assert.equal(readOr(`${dir}/cpu.cfs_quota_us`).trim(), "50000");
        assert.equal(readOr(`${dir}/cpu.cfs_period_us`).trim(), "100000");
      }
    }),
  },
  {
    id: "linux.resources.devices",
    section: "config-linux.md#allowed-device-list",
    requirement: "the device list denies nodes it does not allow and opens those it allows",
    run: (rt) =>
      withScratch(rt, async (s) => {
        // 10:229 (/dev/fuse) is outside the default allow lists of runc and denki. Only open
        // it: a refused open is EPERM, an allowed one succeeds (or ENODEV without the module).
        const script = "(true < /imagedev) 2>&1; echo done";
        const result = async (extra: Json[]) => {
          const b = s.bundle((c) => {
            c.process.args = ["sh", "-c", script];
            c.linux.resources.devices = [...c.linux.resources.devices, ...extra];
          });
          const mk = new Deno.Command("mknod", { args: [`${b.rootfs}/imagedev`, "c", "10", "229"] })
            .outputSync();
          assert.ok(mk.success, "mknod failed on the host");
          const r = await rt.run(["run", "--bundle", b.dir, freshId()]);
          assert.equal(r.code, 0, r.stderr);
          return r.stdout;
        };
        const denied = await result([]);
        assert.match(denied, /^done$/m, "the program did not finish");
        assert.match(denied, /Operation not permitted/, "a denied device opened");
        const allowed = await result([{
          allow: true,
          type: "c",
          major: 10,
          minor: 229,
          access: "rw",
        }]);
        assert.match(allowed, /^done$/m, "the program did not finish");
        assert.doesNotMatch(allowed, /Operation not permitted/, "an allowed device was refused");
      }),
  },
  {
    id: "linux.cgroupsPath",
    section: "config-linux.md#cgroups-path",
    requirement: "an absolute cgroupsPath is where the container's cgroup is made",
    run: async (rt) => {
      const parent = `/${freshId("cfparent")}`;
      try {
        await withScratch(rt, async (s) => {
          const { id } = await s.detached((c) => {
            s.marking("exec sleep 30")(c);
            c.linux.cgroupsPath = `${parent}/inner`;
          });
          await s.ran();
          const pid = (await s.state(id)).pid;
          assert.equal(cgroupLine(pid, "pids").path, `${parent}/inner`);
        });
      } finally {
        // Runtimes remove the cgroup they made, never the parents the path implied.
        for (const m of cgroupMounts()) {
          try {
            Deno.removeSync(`${m.point}${parent}/inner`);
          } catch { /* already gone */ }
          try {
            Deno.removeSync(`${m.point}${parent}`);
          } catch { /* not made in this hierarchy */ }
        }
      }
    },
  },
  {
    id: "lifecycle.delete.cgroup",
    section: "runtime.md#delete",
    requirement: "delete removes the cgroup that create made for the container",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.detached(s.marking("exec sleep 30"));
        await s.ran();
        const { dir } = cgroupDir((await s.state(id)).pid, "pids");
        assert.ok(exists(dir), `${dir} does not exist while running`);
        assert.equal((await rt.run(["kill", id, "KILL"])).code, 0);
        await s.waitStatus(id, "stopped");
        assert.equal((await rt.run(["delete", id])).code, 0);
        assert.ok(!exists(dir), `${dir} is left after delete`);
      }),
  },
];
