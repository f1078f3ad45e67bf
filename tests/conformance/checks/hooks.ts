/**
 * Hooks (config.md#posix-platform-hooks and the lifecycle steps of runtime.md): when each kind
 * runs, what it gets on stdin, and what a failing one does to the operation.
 */
import assert from "node:assert/strict";
import {
  alive,
  type Check,
  exists,
  firstLine,
  freshId,
  type Json,
  readOr,
  type Scratch,
  withScratch,
} from "../runtime.ts";

/**
 * A host script that records a hook: its state (stdin) in `<log>/<name>.json` and its name in
 * `<log>/order`, then exits with its second argument.
 */
function recorder(s: Scratch): (name: string, status?: number) => Json {
  const path = `${s.dir}/hook.sh`;
  Deno.writeTextFileSync(
    path,
    '#!/bin/sh\ncat > "$LOG/$1.json"\necho "$1" >> "$LOG/order"\nexit "${2:-0}"\n',
  );
  Deno.chmodSync(path, 0o755);
  return (name, status = 0) => ({
    path,
    args: [path, name, String(status)],
    env: [`LOG=${s.shared}`, "PATH=/usr/bin:/bin"],
  });
}

/** startContainer runs in the container: its path and log are the container's. */
const inContainer = (name: string, status = 0) => ({
  path: "/bin/sh",
  args: ["sh", "-c", `cat > /shared/${name}.json; echo ${name} >> /shared/order; exit ${status}`],
  env: ["PATH=/bin"],
});

/** The names the hooks recorded, in the order they ran. */
const order = (s: Scratch) => readOr(`${s.shared}/order`).trim().split("\n").join(" ");

/** A create whose `kind` hook fails: create fails, nothing is left and nothing ran. */
function failingCreateHook(kind: string): Check["run"] {
  return (rt) =>
    withScratch(rt, async (s) => {
      const b = s.bundle((c) => {
        s.marking()(c);
        c.hooks = { [kind]: [{ path: "/bin/false" }] };
      });
      const id = freshId();
      const r = await rt.run(["create", "--bundle", b.dir, id]);
      assert.notEqual(r.code, 0, `create succeeded despite a failing ${kind} hook`);
      assert.notEqual((await rt.run(["state", id])).code, 0, "the container still exists");
      assert.ok(!exists(`${s.shared}/ran`), "the program ran");
    });
}

/** Checks of hook order, input and failure handling. */
export const hookChecks: Check[] = [
  {
    id: "hooks.order",
    section: "runtime.md#lifecycle",
    requirement:
      "hooks run prestart, createRuntime, createContainer, startContainer, poststart, poststop; " +
      "each kind in listed order",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const hook = recorder(s);
        const r = await s.runArgs([], (c) => {
          s.marking()(c);
          c.hooks = {
            prestart: [hook("prestart1"), hook("prestart2")],
            createRuntime: [hook("createRuntime")],
            createContainer: [hook("createContainer")],
            startContainer: [inContainer("startContainer")],
            poststart: [hook("poststart")],
            poststop: [hook("poststop")],
          };
        });
        assert.equal(r.code, 0, firstLine(r.stderr));
        await s.ran();
        assert.equal(
          order(s),
          "prestart1 prestart2 createRuntime createContainer startContainer poststart poststop",
        );
      }),
  },
  {
    id: "hooks.state-stdin",
    section: "config.md#posix-platform-hooks",
    requirement: "each hook reads the container state on stdin, with the status of its moment",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const hook = recorder(s);
        const annotations = { "org.example.hooked": "yes" };
        const b = s.bundle((c) => {
          s.marking()(c);
          c.annotations = annotations;
          c.hooks = {
            prestart: [hook("prestart")],
            createRuntime: [hook("createRuntime")],
            createContainer: [hook("createContainer")],
            startContainer: [inContainer("startContainer")],
            poststart: [hook("poststart")],
            poststop: [hook("poststop")],
          };
        });
        const id = freshId();
        const r = await rt.run(["run", "--bundle", b.dir, id]);
        assert.equal(r.code, 0, firstLine(r.stderr));
        await s.ran();
        const want: Record<string, string> = {
          prestart: "creating",
          createRuntime: "creating",
          createContainer: "creating",
          startContainer: "created",
          poststart: "running",
          poststop: "stopped",
        };
        for (const [kind, status] of Object.entries(want)) {
          const text = readOr(`${s.shared}/${kind}.json`);
          assert.notEqual(text, "", `${kind}: no state on stdin`);
          const st = JSON.parse(text);
          assert.equal(st.id, id, `${kind}: id`);
          assert.equal(st.bundle, b.dir, `${kind}: bundle`);
          assert.equal(st.status, status, `${kind}: status`);
          assert.match(String(st.ociVersion), /^\d+\.\d+\.\d+/, `${kind}: ociVersion`);
          assert.deepEqual(st.annotations, annotations, `${kind}: annotations`);
          if (status !== "stopped") assert.ok(st.pid > 0, `${kind}: pid ${st.pid}`);
        }
      }),
  },
  {
    id: "hooks.args-env",
    section: "config.md#posix-platform-hooks",
    requirement: "a hook gets its args and exactly its env, not the runtime caller's environment",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = `${s.shared}/args`;
        const b = s.bundle((c) => {
          s.marking()(c);
          c.hooks = {
            createRuntime: [{
              path: "/bin/sh",
              args: [
                "sh",
                "-c",
                `cat >/dev/null; echo "$0|$1|$GREETING|$CALLER_SECRET" > ${out}`,
                "a",
                "b c",
              ],
              env: ["GREETING=hi"],
            }],
          };
        });
        const r = await rt.run(["run", "--bundle", b.dir, freshId()], {
          env: { CALLER_SECRET: "hunter2" },
        });
        assert.equal(r.code, 0, firstLine(r.stderr));
        await s.ran();
        assert.equal(readOr(out), "a|b c|hi|\n");
      }),
  },
  {
    id: "hooks.prestart.fails",
    section: "runtime.md#lifecycle",
    requirement:
      "a failing prestart hook fails create, leaves no container and never runs the program",
    workload: "must-not-run",
    run: failingCreateHook("prestart"),
  },
  {
    id: "hooks.createRuntime.fails",
    section: "runtime.md#lifecycle",
    requirement: "a failing createRuntime hook fails create and leaves no container",
    workload: "must-not-run",
    run: failingCreateHook("createRuntime"),
  },
  {
    id: "hooks.createContainer.fails",
    section: "runtime.md#lifecycle",
    requirement: "a failing createContainer hook fails create and leaves no container",
    workload: "must-not-run",
    run: failingCreateHook("createContainer"),
  },
  {
    id: "hooks.startContainer.fails",
    section: "runtime.md#lifecycle",
    requirement:
      "a failing startContainer hook fails start, stops the container, the program never runs",
    workload: "must-not-run",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const { id } = await s.create((c) => {
          s.marking()(c);
          c.hooks = { startContainer: [{ path: "/bin/false" }] };
        });
        const pid = (await s.state(id)).pid;
        const r = await rt.run(["start", id]);
        assert.notEqual(r.code, 0, "start succeeded despite a failing startContainer hook");
        assert.ok(!exists(`${s.shared}/ran`), "the program ran");
        const st = await rt.run(["state", id]);
        if (st.code === 0) assert.equal(JSON.parse(st.stdout).status, "stopped");
        await new Promise((r) => setTimeout(r, 100));
        assert.ok(!alive(pid), "the container process is still alive");
      }),
  },
  {
    id: "hooks.poststart.fails",
    section: "runtime.md#lifecycle",
    requirement: "a failing poststart hook only warns: later hooks run and the container runs on",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const hook = recorder(s);
        const { id } = await s.detached((c) => {
          s.share(c);
          c.process.args = ["sh", "-c", "echo ran > /shared/ran; exec sleep 30"];
          c.hooks = { poststart: [hook("first", 1), hook("second")] };
        });
        await s.ran();
        assert.equal(order(s), "first second", "the hook after the failing one did not run");
        assert.equal((await s.state(id)).status, "running");
      }),
  },
  {
    id: "hooks.poststop.fails",
    section: "runtime.md#lifecycle",
    requirement: "a failing poststop hook only warns: later hooks run and delete succeeds",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const hook = recorder(s);
        const { id } = await s.detached((c) => {
          s.marking()(c);
          c.hooks = { poststop: [hook("first", 1), hook("second")] };
        });
        await s.ran();
        await s.waitStatus(id, "stopped");
        const r = await rt.run(["delete", id]);
        assert.equal(r.code, 0, `delete failed: ${firstLine(r.stderr)}`);
        assert.equal(order(s), "first second", "the hook after the failing one did not run");
        assert.notEqual((await rt.run(["state", id])).code, 0, "the container still exists");
      }),
  },
  {
    id: "hooks.timeout",
    section: "config.md#posix-platform-hooks",
    requirement: "a hook that outlives its timeout is stopped and counts as failed",
    workload: "none",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const b = s.bundle((c) => {
          c.process.args = ["true"];
          c.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }] };
        });
        const id = freshId();
        const began = Date.now();
        const r = await rt.run(["create", "--bundle", b.dir, id]);
        assert.notEqual(r.code, 0, "create succeeded despite a timed-out hook");
        assert.ok(Date.now() - began < 15000, "create waited for the whole hook");
        assert.notEqual((await rt.run(["state", id])).code, 0, "the container still exists");
      }),
  },
];
