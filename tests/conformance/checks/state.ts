/** The state a runtime reports (runtime.md#state, #query-state). */
import assert from "node:assert/strict";
import { alive, type Check, firstLine, freshId, hostNs, withScratch } from "../runtime.ts";

/** Checks of the `state` operation and the fields of the state document. */
export const stateChecks: Check[] = [
  {
    id: "state.created.fields",
    section: "runtime.md#state",
    requirement:
      "after create, state has ociVersion, the id, status created and the live process's pid",
    workload: "none",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.create((c) => (c.process.args = ["sleep", "30"]));
        const st = await s.state(id);
        assert.equal(typeof st.ociVersion, "string");
        assert.match(st.ociVersion, /^\d+\.\d+\.\d+/, "ociVersion is a spec version");
        assert.equal(st.id, id);
        assert.equal(st.status, "created");
        assert.ok(Number.isInteger(st.pid) && st.pid > 0, `pid ${st.pid}`);
        assert.ok(alive(st.pid), "no live process has the reported pid");
      }),
  },
  {
    id: "state.bundle.absolute",
    section: "runtime.md#state",
    requirement:
      "state.bundle is the absolute bundle path, even when create was given a relative one",
    workload: "none",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const b = s.bundle((c) => (c.process.args = ["sleep", "30"]));
        const id = freshId();
        const rel = b.dir.slice(s.dir.length + 1);
        const r = await rt.run(["create", "--bundle", rel, id], { cwd: s.dir });
        assert.equal(r.code, 0, `create: ${firstLine(r.stderr)}`);
        const st = await s.state(id);
        assert.equal(st.bundle, b.dir);
      }),
  },
  {
    id: "state.pid.host",
    section: "runtime.md#state",
    requirement: "state.pid is the container process as the host sees it, running the program",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.detached((c) => (c.process.args = ["sleep", "31"]));
        const { pid, status } = await s.state(id);
        assert.equal(status, "running");
        const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
        assert.equal(cmdline, "sleep\x0031\x00", "the pid does not run the program");
        assert.notEqual(Deno.readLinkSync(`/proc/${pid}/ns/pid`), hostNs("pid"));
      }),
  },
  {
    id: "state.annotations",
    section: "runtime.md#state",
    requirement: "state carries the config's annotations",
    workload: "none",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const annotations = { "org.example.a": "1", "org.example.b": "two words" };
        const { id } = await s.create((c) => {
          c.process.args = ["sleep", "30"];
          c.annotations = annotations;
        });
        assert.deepEqual((await s.state(id)).annotations, annotations);
      }),
  },
  {
    id: "state.missing",
    section: "runtime.md#query-state",
    requirement: "state of a container that does not exist fails",
    workload: "none",
    run: async (rt) => {
      const r = await rt.run(["state", freshId("none")]);
      assert.notEqual(r.code, 0, "state of an unknown id succeeded");
    },
  },
];
