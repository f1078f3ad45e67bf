/** The container process (config.md#process): args, env, cwd, user, and its Linux attributes. */
import assert from "node:assert/strict";
import { type Check, firstLine, freshId, withScratch } from "../runtime.ts";

/** Checks of `process` fields, each observed from inside the container. */
export const processChecks: Check[] = [
  {
    id: "process.args",
    section: "config.md#process",
    requirement: "process.args reach the program exactly: spaces, empty strings, order",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const r = await s.runArgs(["sh", "-c", 'printf "[%s]" "$0" "$@"', "zero", "a b", "", "c"]);
        assert.equal(r.code, 0, firstLine(r.stderr));
        assert.equal(r.stdout, "[zero][a b][][c]");
      }),
  },
  {
    id: "process.args.path-lookup",
    section: "config.md#process",
    requirement: "a bare args[0] is found through the PATH of process.env, as execvp does",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const r = await s.runArgs(["echo", "found"], (c) => (c.process.env = ["PATH=/bin"]));
        assert.equal(r.code, 0, firstLine(r.stderr));
        assert.equal(r.stdout, "found\n");
      }),
  },
  {
    id: "process.env",
    section: "config.md#process",
    requirement: "process.env is the program's environment; the caller's own variables stay out",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const b = s.bundle((c) => {
          c.process.args = ["env"];
          c.process.env = ["PATH=/bin", "GREETING=hello world", "EMPTY="];
        });
        const r = await rt.run(["run", "--bundle", b.dir, freshId()], {
          env: { CALLER_SECRET: "hunter2" },
        });
        assert.equal(r.code, 0, firstLine(r.stderr));
        const lines = r.stdout.split("\n");
        for (const v of ["PATH=/bin", "GREETING=hello world", "EMPTY="]) {
          assert.ok(lines.includes(v), `${v} missing`);
        }
        assert.doesNotMatch(r.stdout, /CALLER_SECRET|hunter2/, "the caller's variable leaked");
      }),
  },
  {
    id: "process.cwd",
    section: "config.md#process",
    requirement: "the program starts in process.cwd",
    run: (rt) =>
      withScratch(rt, async (s) => {
        assert.equal(await s.sh("pwd", (c) => (c.process.cwd = "/etc")), "/etc\n");
      }),
  },
  {
    id: "process.user",
    section: "config.md#posix-platform-user",
    requirement: "the program runs with user.uid, user.gid and user.additionalGids",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh("id -u; id -g; id -G", (c) => {
          c.process.user = { uid: 1000, gid: 1001, additionalGids: [1002, 1003] };
        });
        const [uid, gid, groups] = out.trim().split("\n");
        assert.equal(uid, "1000");
        assert.equal(gid, "1001");
        assert.deepEqual(groups!.split(" ").sort(), ["1001", "1002", "1003"]);
      }),
  },
  {
    id: "process.user.umask",
    section: "config.md#posix-platform-user",
    requirement: "user.umask sets the program's umask",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh("umask", (c) => (c.process.user.umask = 0o027));
        assert.equal(out, "0027\n");
      }),
  },
  {
    id: "process.terminal.false",
    section: "config.md#process",
    requirement: "with terminal false the program gets the caller's stdio, not a terminal",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const r = await s.runArgs([
          "sh",
          "-c",
          "for fd in 0 1 2; do [ -t $fd ] && echo tty$fd; done; echo out; echo err >&2",
        ]);
        assert.equal(r.code, 0, firstLine(r.stderr));
        assert.equal(r.stdout, "out\n", "stdout is the caller's pipe and no fd is a tty");
        assert.match(r.stderr, /^err$/m, "stderr is the caller's pipe");
      }),
  },
  {
    id: "process.rlimits",
    section: "config.md#posix-process",
    requirement: "each process.rlimits entry sets that limit's soft and hard values",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh(
          "grep -E '^Max (open files|core file size)' /proc/self/limits",
          (c) => {
            c.process.rlimits = [
              { type: "RLIMIT_NOFILE", soft: 321, hard: 654 },
              { type: "RLIMIT_CORE", soft: 0, hard: 2048 },
            ];
          },
        );
        assert.match(out, /^Max open files\s+321\s+654\s/m);
        assert.match(out, /^Max core file size\s+0\s+2048\s/m);
      }),
  },
  {
    id: "process.capabilities.sets",
    section: "config.md#linux-process",
    requirement: "the program's bounding, effective and permitted sets are the configured ones",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"];
        const out = await s.sh("grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status", (c) => {
          c.process.capabilities = {
            bounding: caps,
            effective: caps,
            permitted: caps,
            inheritable: [],
            ambient: [],
          };
        });
        // CHOWN=0, KILL=5, NET_RAW=13.
        for (const set of ["Prm", "Eff", "Bnd"]) {
          assert.match(out, new RegExp(`Cap${set}:\\t0000000000002021`), `Cap${set}`);
        }
      }),
  },
  {
    id: "process.capabilities.enforced",
    section: "config.md#linux-process",
    requirement:
      "a capability left out of the sets is really missing (root cannot chown without it)",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const script = "touch /dev/shm/f; chown 1 /dev/shm/f 2>/dev/null && echo ok || echo denied";
        assert.equal(await s.sh(script), "denied\n", "chown worked without CAP_CHOWN");
        const withChown = await s.sh(script, (c) => {
          for (const set of ["bounding", "effective", "permitted"]) {
            c.process.capabilities[set].push("CAP_CHOWN");
          }
        });
        assert.equal(withChown, "ok\n", "chown failed with CAP_CHOWN");
      }),
  },
  {
    id: "process.noNewPrivileges",
    section: "config.md#linux-process",
    requirement: "noNewPrivileges true sets no_new_privs; false leaves it clear",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const script = "grep NoNewPrivs /proc/self/status";
        const on = await s.sh(script, (c) => (c.process.noNewPrivileges = true));
        assert.match(on, /NoNewPrivs:\t1/);
        const off = await s.sh(script, (c) => (c.process.noNewPrivileges = false));
        assert.match(off, /NoNewPrivs:\t0/);
      }),
  },
  {
    id: "process.oomScoreAdj",
    section: "config.md#linux-process",
    requirement: "oomScoreAdj is written to the program's oom_score_adj",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh(
          "cat /proc/self/oom_score_adj",
          (c) => (c.process.oomScoreAdj = 123),
        );
        assert.equal(out, "123\n");
      }),
  },
];
