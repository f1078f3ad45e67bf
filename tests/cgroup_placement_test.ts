/**
 * Where a container's cgroup lands when the config gives no (or a relative) cgroupsPath: below
 * the caller's own cgroup, as runc places it. The test makes a cgroup of its own below this
 * process's cgroup on every hierarchy, runs denki (and runc, side by side, when installed)
 * from inside it, and reads the container's place back from /proc/<pid>/cgroup. delete must
 * remove what denki made and nothing of the caller's.
 */
import assert from "node:assert/strict";
import { type Json, type Lab, withLab } from "./support/container.ts";
import { LAUNCHER, run, type RunResult } from "./support/denki.ts";
import { emptyAndRemove } from "./support/cgroup_cleanup.ts";
import { exists } from "./support/fs.ts";
import { REQS, waitFor } from "./support/cgroups.ts";
import { program, testWith } from "./support/requires.ts";
import { hostLayout, layoutMode } from "../lib/cgroups/layout.ts";

const NAME = `denki-place-${Deno.pid}`;
// Unique names: on a hybrid host the v2 part lands at the top of the hierarchy.
const ID1 = `pl1-${Deno.pid}`;
const ID2 = `pl2-${Deno.pid}`;
const POD = `pod-${Deno.pid}`;

/** One hierarchy: its mount, the /proc/<pid>/cgroup key of its line, this process's cgroup. */
interface Place {
  mount: string;
  key: string;
  own: string;
  v2: boolean;
}

function places(): Place[] {
  const layout = hostLayout();
  const out: Place[] = [];
  const seen = new Set<string>();
  for (const [controller, h] of layout.v1) {
    if (seen.has(h.mount)) continue;
    seen.add(h.mount);
    out.push({ mount: h.mount, key: controller, own: h.own ?? "/", v2: false });
  }
  if (layout.unified) {
    out.push({ mount: layout.unified.mount, key: "", own: layout.unified.own ?? "/", v2: true });
  }
  return out;
}

const join = (a: string, b: string) => `${a === "/" ? "" : a}/${b}`;

/** The test's own cgroup (this process's cgroup + NAME) on every hierarchy, cpusets seeded. */
function makeCallerCgroups(ps: Place[]): string[] {
  const dirs: string[] = [];
  for (const p of ps) {
    const parent = `${p.mount}${p.own === "/" ? "" : p.own}`;
    const dir = `${parent}/${NAME}`;
    Deno.mkdirSync(dir);
    dirs.push(dir);
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      if (exists(`${dir}/${f}`)) {
        Deno.writeTextFileSync(`${dir}/${f}`, Deno.readTextFileSync(`${parent}/${f}`).trim());
      }
    }
  }
  return dirs;
}

/** Runs `prog args` from a shell that first moves itself into `dirs`; stdio to files. */
async function runInside(dirs: string[], prog: string, args: string[]): Promise<RunResult> {
  const out = Deno.makeTempDirSync({ prefix: "denki-place-out-" });
  try {
    const r = await run([
      "-c",
      'for d in $DIRS; do echo $$ > "$d/cgroup.procs" || exit 99; done; ' +
      'exec "$0" "$@" </dev/null >"$OUT" 2>"$ERR"',
      prog,
      ...args,
    ], {
      program: "/bin/sh",
      env: { DIRS: dirs.join(" "), OUT: `${out}/out`, ERR: `${out}/err` },
    });
    return {
      code: r.code,
      stdout: readOr(`${out}/out`),
      stderr: r.stderr + readOr(`${out}/err`),
    };
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
}

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** /proc/<pid>/cgroup as a map from each line's controller list to its path. */
function cgroupsOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of Deno.readTextFileSync(`/proc/${pid}/cgroup`).trim().split("\n")) {
    const [, names, ...path] = line.split(":");
    for (const n of names!.split(",")) out.set(n, path.join(":"));
  }
  return out;
}

/** Creates a container from inside `dirs` with `prog`, starts it, waits for its marker. */
async function launchInside(
  lab: Lab,
  dirs: string[],
  prog: string,
  id: string,
  cgroupsPath: string | undefined,
): Promise<{ pid: number; rootfs: string }> {
  const b = lab.bundle((c: Json) => {
    c.process.args = ["sh", "-c", "echo ran > /ran; exec sleep 100"];
    c.root.readonly = false;
    if (cgroupsPath !== undefined) c.linux.cgroupsPath = cgroupsPath;
    else delete c.linux.cgroupsPath;
  });
  const root = prog === LAUNCHER ? lab.root : `${lab.dir}/runc-state`;
  const r = await runInside(dirs, prog, ["--root", root, "create", "--bundle", b.dir, id]);
  assert.equal(r.code, 0, `${prog} create ${id}: ${r.stderr}`);
  const st = await run(["--root", root, "state", id], { program: prog });
  const pid = JSON.parse(st.stdout).pid as number;
  const s = await run(["--root", root, "start", id], { program: prog });
  assert.equal(s.code, 0, s.stderr);
  await waitFor(`${id} to run`, () => readOr(`${b.rootfs}/ran`) === "ran\n");
  return { pid, rootfs: b.rootfs };
}

const RUNC_ROOT = (lab: Lab) => `${lab.dir}/runc-state`;

testWith(
  "cgroup placement: no cgroupsPath puts the container below the caller's own cgroup, as runc",
  [...REQS],
  async (t) => {
    const ps = places();
    const mode = layoutMode(hostLayout());
    const dirs = makeCallerCgroups(ps);
    const runcIds: string[] = [];
    try {
      await withLab(async (lab) => {
        try {
          const { pid } = await launchInside(lab, dirs, LAUNCHER, ID1, undefined);
          const got = cgroupsOf(pid);
          for (const p of ps) {
            const caller = join(p.own, NAME);
            // v1: below the caller; v2 alone: below the caller's parent; hybrid v2: the top.
            const want = !p.v2
              ? join(caller, ID1)
              : mode === "hybrid"
              ? `/${ID1}`
              : join(p.own, ID1);
            assert.equal(got.get(p.key), want, `${p.mount}`);
            assert.ok(exists(`${p.mount}${want}`), `${p.mount}${want} exists`);
          }
          // Inside the caller's limits: the caller's pids cgroup counts the container's init.
          const pids = ps.find((p) => p.key === "pids");
          if (pids !== undefined) {
            const current = Number(
              Deno.readTextFileSync(`${pids.mount}${join(pids.own, NAME)}/pids.current`),
            );
            assert.ok(current >= 1, `pids.current of the caller's cgroup is ${current}`);
          }

          await t.step({
            name: "runc places its container the same way" +
              (program("runc") ? " [skipped: runc is not installed]" : ""),
            ignore: program("runc") !== undefined,
            fn: async () => {
              runcIds.push(ID1);
              const r = await launchInside(lab, dirs, "runc", ID1, undefined);
              assert.deepEqual(
                [...cgroupsOf(r.pid)].sort(),
                [...got].sort(),
                "denki's and runc's containers are in the same cgroups",
              );
              const d = await run(["--root", RUNC_ROOT(lab), "delete", "--force", ID1], {
                program: "runc",
              });
              assert.equal(d.code, 0, d.stderr);
              runcIds.pop();
            },
          });

          const del = await lab.denki(["delete", "--force", ID1]);
          assert.equal(del.code, 0, del.stderr);
          for (const p of ps) {
            const leaf = p.v2 && mode === "hybrid" ? `${p.mount}/${ID1}` : undefined;
            assert.ok(!exists(leaf ?? `${p.mount}${join(p.own, NAME)}/${ID1}`), `${p.mount}: gone`);
            assert.ok(exists(`${p.mount}${join(p.own, NAME)}`), `${p.mount}: the caller's stays`);
          }
        } finally {
          for (const id of runcIds) {
            await run(["--root", RUNC_ROOT(lab), "delete", "--force", id], { program: "runc" });
          }
        }
      });
    } finally {
      await cleanup(ps, [ID1]);
    }
  },
);

testWith(
  "cgroup placement: a relative cgroupsPath is below the caller; delete removes only denki's",
  [...REQS],
  async () => {
    const ps = places();
    const mode = layoutMode(hostLayout());
    const dirs = makeCallerCgroups(ps);
    try {
      await withLab(async (lab) => {
        const { pid } = await launchInside(lab, dirs, LAUNCHER, ID2, `../${POD}/${ID2}`);
        const got = cgroupsOf(pid);
        for (const p of ps) {
          // `../${POD}/${ID2}` is clamped to `${POD}/${ID2}`: it cannot climb out of the caller's cgroup.
          const want = !p.v2
            ? join(join(p.own, NAME), `${POD}/${ID2}`)
            : mode === "hybrid"
            ? `/${POD}/${ID2}`
            : join(p.own, `${POD}/${ID2}`);
          assert.equal(got.get(p.key), want, p.mount);
        }
        const del = await lab.denki(["delete", "--force", ID2]);
        assert.equal(del.code, 0, del.stderr);
        for (const p of ps) {
          const caller = `${p.mount}${join(p.own, NAME)}`;
          const pod = p.v2 && mode === "hybrid" ? `${p.mount}/${POD}` : `${caller}/${POD}`;
          assert.ok(!exists(pod), `${pod}: denki made it, delete removed it`);
          assert.ok(exists(caller), `${caller}: the caller's stays`);
        }
      });
    } finally {
      await cleanup(ps, [POD]);
    }
  },
);

/** Removes the test's cgroups and anything a failed run left in them or at the v2 top. */
async function cleanup(ps: Place[], leaves: string[]): Promise<void> {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (!exists(dir)) return;
    found.push(dir);
    for (const e of Deno.readDirSync(dir)) if (e.isDirectory) walk(`${dir}/${e.name}`);
  };
  for (const p of ps) {
    walk(`${p.mount}${join(p.own, NAME)}`);
    if (p.v2) { for (const leaf of leaves) walk(`${p.mount}/${leaf}`); }
  }
  found.sort((a, b) => b.split("/").length - a.split("/").length);
  const stuck = await emptyAndRemove(found);
  assert.deepEqual(stuck, [], "cgroups the test could not remove");
}
