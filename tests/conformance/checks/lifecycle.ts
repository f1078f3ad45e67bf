/** Lifecycle operations (runtime.md): create, start, kill, delete, and what each must refuse. */
import assert from "node:assert/strict";
import {
  alive,
  type Check,
  exists,
  firstLine,
  freshId,
  readOr,
  waitFor,
  withScratch,
} from "../runtime.ts";

const sleeper = (c: { process: { args: string[] } }) => (c.process.args = ["sleep", "30"]);

/** Checks of the create/start/kill/delete operations and their error cases. */
export const lifecycleChecks: Check[] = [
  {
    id: "lifecycle.create.no-user-program",
    section: "runtime.md#create",
    requirement: "create sets everything up but does not run the user program until start",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.create((c) => {
          s.share(c);
          c.process.args = ["sh", "-c", "echo ran > /shared/ran; sleep 30"];
        });
        // Give a runtime that wrongly execs at create time the chance to show it.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(readOr(`${s.shared}/ran`), "", "the program ran before start");
        const r = await rt.run(["start", id]);
        assert.equal(r.code, 0, `start: ${firstLine(r.stderr)}`);
        await waitFor(() => readOr(`${s.shared}/ran`) === "ran\n", 5000, () => "never ran");
      }),
  },
  {
    id: "lifecycle.create.id-unique",
    section: "runtime.md#create",
    requirement:
      "create with an id already in use fails and leaves the existing container as it was",
    workload: "none",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id, bundle } = await s.create(sleeper);
        const before = await s.state(id);
        const other = s.bundle(sleeper);
        const again = await rt.run(["create", "--bundle", other.dir, id]);
        assert.notEqual(again.code, 0, "a second create of the same id succeeded");
        const after = await s.state(id);
        assert.equal(after.status, "created");
        assert.equal(after.pid, before.pid, "the first container's process changed");
        assert.equal(after.bundle, bundle.dir, "the first container's bundle changed");
        assert.ok(alive(before.pid), "the first container's process died");
      }),
  },
  {
    id: "lifecycle.create.config-snapshot",
    section: "runtime.md#create",
    requirement: "edits to config.json after create do not change the container",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id, bundle } = await s.create((c) => {
          s.share(c);
          c.process.args = ["sh", "-c", "echo original > /shared/out"];
        });
        const edited = { ...bundle.config };
        edited.process = { ...edited.process, args: ["sh", "-c", "echo edited > /shared/out"] };
        Deno.writeTextFileSync(`${bundle.dir}/config.json`, JSON.stringify(edited));
        const r = await rt.run(["start", id]);
        assert.equal(r.code, 0, `start: ${firstLine(r.stderr)}`);
        await waitFor(() => readOr(`${s.shared}/out`) !== "", 5000, () => "the program never ran");
        assert.equal(readOr(`${s.shared}/out`), "original\n");
      }),
  },
  {
    id: "lifecycle.create.error-no-trace",
    section: "runtime.md#errors",
    requirement: "a create that fails leaves no container behind, as if never attempted",
    workload: "none",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const b = s.bundle((c) =>
          c.mounts.push({
            destination: "/data",
            type: "bind",
            source: `${s.dir}/does-not-exist`,
            options: ["rbind"],
          })
        );
        const id = freshId();
        const r = await rt.run(["create", "--bundle", b.dir, id]);
        assert.notEqual(r.code, 0, "create with a missing bind source succeeded");
        assert.notEqual((await rt.run(["state", id])).code, 0, "state of the failed id works");
        const list = await rt.run(["list", "-q"]);
        assert.ok(!list.stdout.split("\n").includes(id), "the failed container is listed");
      }),
  },
  {
    id: "lifecycle.start.runs",
    section: "runtime.md#start",
    requirement: "start runs the user program and the status becomes running",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.create((c) => {
          s.share(c);
          c.process.args = ["sh", "-c", "echo started > /shared/x; exec sleep 30"];
        });
        const r = await rt.run(["start", id]);
        assert.equal(r.code, 0, `start: ${firstLine(r.stderr)}`);
        assert.equal((await s.state(id)).status, "running");
        await waitFor(() => readOr(`${s.shared}/x`) === "started\n", 5000, () => "never ran");
      }),
  },
  {
    id: "lifecycle.start.twice",
    section: "runtime.md#start",
    requirement: "start of a container that is not created fails and does not touch it",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.create(s.marking("exec sleep 30"));
        assert.equal((await rt.run(["start", id])).code, 0);
        await s.ran();
        const before = await s.state(id);
        const again = await rt.run(["start", id]);
        assert.notEqual(again.code, 0, "a second start succeeded");
        const after = await s.state(id);
        assert.equal(after.status, "running");
        assert.equal(after.pid, before.pid);
        assert.ok(alive(after.pid), "the process died");
      }),
  },
  {
    id: "lifecycle.start.stopped",
    section: "runtime.md#start",
    requirement: "start of a stopped container fails",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.create(s.marking());
        assert.equal((await rt.run(["start", id])).code, 0);
        await s.ran();
        await s.waitStatus(id, "stopped");
        assert.notEqual((await rt.run(["start", id])).code, 0, "start of a stopped container");
        assert.equal((await s.state(id)).status, "stopped");
      }),
  },
  {
    id: "lifecycle.start.missing",
    section: "runtime.md#start",
    requirement: "start of a container that does not exist fails",
    workload: "none",
    run: async (rt) => {
      assert.notEqual((await rt.run(["start", freshId("none")])).code, 0);
    },
  },
  {
    id: "lifecycle.exit.stopped",
    section: "runtime.md#state",
    requirement: "once the container process exits by itself the status is stopped",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.create(s.marking("exit 3"));
        assert.equal((await rt.run(["start", id])).code, 0);
        await s.ran();
        await s.waitStatus(id, "stopped");
      }),
  },
  {
    id: "lifecycle.kill.signal",
    section: "runtime.md#kill",
    requirement: "kill delivers the named signal to the container process",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.detached((c) => {
          s.share(c);
          c.process.args = [
            "sh",
            "-c",
            "trap 'echo usr1 > /shared/got' USR1; touch /shared/ready; while :; do sleep 0.05; done",
          ];
        });
        await waitFor(() => exists(`${s.shared}/ready`), 5000, () => "the trap was never set");
        const r = await rt.run(["kill", id, "USR1"]);
        assert.equal(r.code, 0, `kill: ${firstLine(r.stderr)}`);
        await waitFor(() => readOr(`${s.shared}/got`) === "usr1\n", 5000, () => "no USR1 seen");
        assert.equal((await s.state(id)).status, "running", "a handled signal stopped it");
      }),
  },
  {
    id: "lifecycle.kill.created",
    section: "runtime.md#kill",
    requirement: "kill of a created (not yet started) container is allowed and stops it",
    workload: "must-not-run",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.create(s.marking("exec sleep 30"));
        const r = await rt.run(["kill", id, "KILL"]);
        assert.equal(r.code, 0, `kill: ${firstLine(r.stderr)}`);
        await s.waitStatus(id, "stopped");
        assert.equal(readOr(`${s.shared}/ran`), "", "the program ran");
      }),
  },
  {
    id: "lifecycle.kill.stopped",
    section: "runtime.md#kill",
    requirement: "kill of a stopped container fails and the container stays stopped",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.detached(s.marking());
        await s.ran();
        await s.waitStatus(id, "stopped");
        assert.notEqual((await rt.run(["kill", id, "KILL"])).code, 0, "kill succeeded");
        assert.equal((await s.state(id)).status, "stopped");
      }),
  },
  {
    id: "lifecycle.delete.running",
    section: "runtime.md#delete",
    requirement: "delete (without --force) of a running container fails and leaves it running",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.detached(s.marking("exec sleep 30"));
        await s.ran();
        const pid = (await s.state(id)).pid;
        assert.notEqual((await rt.run(["delete", id])).code, 0, "delete succeeded");
        assert.equal((await s.state(id)).status, "running");
        assert.ok(alive(pid), "the process died");
      }),
  },
  {
    id: "lifecycle.delete.stopped",
    section: "runtime.md#delete",
    requirement: "delete of a stopped container removes it and frees its id for reuse",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id, bundle } = await s.detached(s.marking());
        await s.ran();
        await s.waitStatus(id, "stopped");
        const r = await rt.run(["delete", id]);
        assert.equal(r.code, 0, `delete: ${firstLine(r.stderr)}`);
        assert.notEqual((await rt.run(["state", id])).code, 0, "state works after delete");
        const list = await rt.run(["list", "-q"]);
        assert.ok(!list.stdout.split("\n").includes(id), "still listed after delete");
        const again = await rt.run(["create", "--bundle", bundle.dir, id]);
        assert.equal(again.code, 0, `reusing the id: ${firstLine(again.stderr)}`);
      }),
  },
  {
    id: "lifecycle.delete.missing",
    section: "runtime.md#delete",
    requirement: "delete of a container that does not exist fails",
    workload: "none",
    run: async (rt) => {
      assert.notEqual((await rt.run(["delete", freshId("none")])).code, 0);
    },
  },
  {
    id: "lifecycle.delete.created",
    section: "runc CLI (delete)",
    requirement:
      "delete of a created container ends its waiting process and removes it (runc's behaviour)",
    workload: "must-not-run",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.create(s.marking("exec sleep 30"));
        const pid = (await s.state(id)).pid;
        const r = await rt.run(["delete", id]);
        assert.equal(r.code, 0, `delete: ${firstLine(r.stderr)}`);
        await waitFor(() => !alive(pid), 3000, () => "the container process survived");
        assert.notEqual((await rt.run(["state", id])).code, 0);
        assert.equal(readOr(`${s.shared}/ran`), "", "the program ran");
      }),
  },
  {
    id: "lifecycle.delete.force",
    section: "runc CLI (delete --force)",
    requirement: "delete --force kills a running container and removes it",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.detached(s.marking("exec sleep 30"));
        await s.ran();
        const pid = (await s.state(id)).pid;
        const r = await rt.run(["delete", "--force", id]);
        assert.equal(r.code, 0, `delete --force: ${firstLine(r.stderr)}`);
        await waitFor(() => !alive(pid), 3000, () => "the container process survived");
        assert.notEqual((await rt.run(["state", id])).code, 0);
      }),
  },
  {
    id: "lifecycle.run.exit-code",
    section: "runc CLI (run)",
    requirement: "run in the foreground exits with the program's status and removes the container",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const r = await s.runArgs(["sh", "-c", "echo out; exit 7"]);
        assert.equal(r.code, 7, firstLine(r.stderr));
        assert.equal(r.stdout, "out\n");
        assert.equal((await rt.run(["list", "-q"])).stdout.trim(), "", "a container is left");
      }),
  },
  {
    id: "lifecycle.create.pid-file",
    section: "runc CLI (create --pid-file)",
    requirement: "create --pid-file writes the container process's host pid",
    workload: "none",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const b = s.bundle(sleeper);
        const id = freshId();
        const r = await rt.run(["create", "--bundle", b.dir, "--pid-file", `${s.dir}/pid`, id]);
        assert.equal(r.code, 0, `create: ${firstLine(r.stderr)}`);
        assert.equal(Number(readOr(`${s.dir}/pid`)), (await s.state(id)).pid);
      }),
  },
];
