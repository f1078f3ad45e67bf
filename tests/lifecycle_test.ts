/** The container lifecycle through bin/denki: create, start, run, kill, delete, state. */
import assert from "node:assert/strict";
import {
  CONTAINER_REQS,
  exited,
  hostMountsUnder,
  type Json,
  withLab,
} from "./support/container.ts";
import { testWith } from "./support/requires.ts";

const T = (name: string, fn: () => Promise<void>) =>
  testWith(`lifecycle: ${name}`, CONTAINER_REQS, fn);

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("timed out waiting");
}

T("run passes stdout through and exits with the workload's status", () =>
  withLab(async (lab) => {
    const ok = await lab.runIn(["sh", "-c", "echo hello from the container"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hello from the container\n");
    const seven = await lab.runIn(["sh", "-c", "exit 7"], undefined, "c2");
    assert.equal(seven.code, 7);
    assert.deepEqual(lab.containers(), [], "run deletes the container after it exits");
  }));

T("run: a workload killed by a signal gives 128+signal", () =>
  withLab(async (lab) => {
    // Without its own pid namespace the shell is not a namespace init and can kill itself.
    const r = await lab.runIn(["sh", "-c", "kill -USR1 $$; sleep 5"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
    });
    assert.equal(r.code, 128 + 10);
  }));

T("create, state, start, a workload that exits by itself, delete", () =>
  withLab(async (lab) => {
    const b = lab.bundle((c) => (c.process.args = ["sleep", "1"]));
    const pidFile = `${lab.dir}/init.pid`;
    const created = await lab.denki(["create", "--bundle", b.dir, "--pid-file", pidFile, "c1"]);
    assert.equal(created.code, 0, created.stderr);
    const state = JSON.parse((await lab.denki(["state", "c1"])).stdout);
    assert.equal(state.status, "created");
    assert.equal(state.bundle, b.dir);
    assert.equal(state.rootfs, `${b.dir}/rootfs`);
    assert.equal(
      Deno.readTextFileSync(pidFile),
      String(state.pid),
      "pid file: the pid, no newline",
    );
    assert.ok(Deno.statSync(`/proc/${state.pid}`).isDirectory);
    const started = await lab.denki(["start", "c1"]);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(JSON.parse((await lab.denki(["state", "c1"])).stdout).status, "running");
    const again = await lab.denki(["start", "c1"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /cannot start container \\"c1\\": its status is \\"running\\"/);
    await waitFor(async () =>
      JSON.parse((await lab.denki(["state", "c1"])).stdout).status === "stopped"
    );
    const stopped = JSON.parse((await lab.denki(["state", "c1"])).stdout);
    assert.equal(stopped.pid, 0);
    const kill = await lab.denki(["kill", "c1"]);
    assert.equal(kill.code, 1);
    assert.match(kill.stderr, /container not running/);
    const del = await lab.denki(["delete", "c1"]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal((await lab.denki(["state", "c1"])).code, 1);
    assert.deepEqual(lab.containers(), []);
  }));

T(
  "delete refuses a running container without --force; --force kills it",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((c) => (c.process.args = ["sleep", "60"]));
      assert.equal((await lab.denki(["run", "--detach", "--bundle", b.dir, "c1"])).code, 0);
      const pid = JSON.parse((await lab.denki(["state", "c1"])).stdout).pid;
      const refused = await lab.denki(["delete", "c1"]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /cannot delete container \\"c1\\": its status is \\"running\\"/);
      const forced = await lab.denki(["delete", "--force", "c1"]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.ok(await exited(pid), "the init is gone");
      const missing = await lab.denki(["delete", "--force", "nope"]);
      assert.equal(missing.code, 0, "delete --force of a missing container is silent, as in runc");
      assert.equal((await lab.denki(["delete", "nope"])).code, 1);
    }),
);

T("delete of a created container kills its waiting init", () =>
  withLab(async (lab) => {
    const b = lab.bundle((c) => (c.process.args = ["true"]));
    assert.equal((await lab.denki(["create", "--bundle", b.dir, "c1"])).code, 0);
    const pid = JSON.parse((await lab.denki(["state", "c1"])).stdout).pid;
    const del = await lab.denki(["delete", "c1"]);
    assert.equal(del.code, 0, del.stderr);
    assert.ok(await exited(pid), "the init is gone");
  }));

T(
  "kill: signal names with and without SIG, numbers, default SIGTERM, bad names",
  () =>
    withLab(async (lab) => {
      // The workload is PID 1 of its namespace: it only gets signals it has handlers for.
      const script =
        "trap 'echo got USR1 >> /tmp/log' USR1; trap 'echo got TERM >> /tmp/log' TERM; " +
        "trap 'echo got USR2 >> /tmp/log' USR2; while :; do sleep 0.05; done";
      const b = lab.bundle((c) => {
        c.process.args = ["sh", "-c", script];
        c.root.readonly = false;
        c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== "/tmp");
      });
      assert.equal((await lab.denki(["run", "-d", "--bundle", b.dir, "c1"])).code, 0);
      const log = () => {
        try {
          return Deno.readTextFileSync(`${b.rootfs}/tmp/log`);
        } catch {
          return "";
        }
      };
      const expected = ["got USR1\n", "got USR2\n", "got TERM\n", "got TERM\n"];
      // SIGUSR1, usr2, no signal (SIGTERM by default), 15.
      for (const [i, sig] of [["SIGUSR1"], ["usr2"], [], ["15"]].entries()) {
        const r = await lab.denki(["kill", "c1", ...sig]);
        assert.equal(r.code, 0, `${sig}: ${r.stderr}`);
        // Wait for the trap to run before the next signal, so the order is the sending order.
        await waitFor(() => Promise.resolve(log() === expected.slice(0, i + 1).join("")));
      }
      assert.equal(log(), expected.join(""));
      const bad = await lab.denki(["kill", "c1", "SIGBOGUS"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /unknown signal \\"SIGBOGUS\\"/);
      assert.equal((await lab.denki(["kill", "c1", "KILL"])).code, 0);
      await waitFor(async () =>
        JSON.parse((await lab.denki(["state", "c1"])).stdout).status === "stopped"
      );
    }),
);

T(
  "kill --all signals every process in the container's pid namespace",
  () =>
    withLab(async (lab) => {
      // The init survives TERM (a handler); its background sleeps have the default action.
      const script =
        "trap 'true' TERM; sleep 60 & echo $! > /tmp/a; sleep 60 & echo $! > /tmp/b; " +
        "while :; do sleep 0.1; done";
      const b = lab.bundle((c) => {
        c.process.args = ["sh", "-c", script];
        c.root.readonly = false;
        c.mounts = c.mounts.filter((m: Json) => m.destination !== "/tmp");
      });
      assert.equal((await lab.denki(["run", "-d", "--bundle", b.dir, "c1"])).code, 0);
      const pid = JSON.parse((await lab.denki(["state", "c1"])).stdout).pid;
      await waitFor(() => Promise.resolve(existsSync(`${b.rootfs}/tmp/b`)));
      // Pids inside the container's namespace differ from the host's: find them by parent.
      const sleeps = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(" ")
        .map(Number).filter((p) => Deno.readTextFileSync(`/proc/${p}/cmdline`).includes("60"));
      assert.equal(sleeps.length, 2);
      assert.equal((await lab.denki(["kill", "c1", "TERM"])).code, 0);
      await new Promise((r) => setTimeout(r, 200));
      for (const p of sleeps) assert.ok(!(await exited(p, 0)), "plain kill reaches the init only");
      const r = await lab.denki(["kill", "--all", "c1", "TERM"]);
      assert.equal(r.code, 0, r.stderr);
      for (const p of sleeps) assert.ok(await exited(p), `sleep ${p} got TERM`);
      assert.equal(JSON.parse((await lab.denki(["state", "c1"])).stdout).status, "running");
    }),
);

T(
  "the caller's environment never reaches the workload or /proc/1/environ",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((c) => {
        c.process.env = ["PATH=/bin", "B=second", "A=first"];
        c.process.args = ["sh", "-c", "cat /proc/1/environ | tr '\\0' '\\n'; echo ---; env"];
        c.process.user = { uid: 0, gid: 0 };
      });
      const env = { TOP_SECRET: "hunter2", LISTEN_FDS: "3", LISTEN_PID: "1" };
      const created = await lab.denki(["create", "--bundle", b.dir, "c1"], { env });
      assert.equal(created.code, 0, created.stderr);
      const pid = JSON.parse((await lab.denki(["state", "c1"])).stdout).pid;
      const initEnv = Deno.readTextFileSync(`/proc/${pid}/environ`);
      assert.equal(initEnv, "", "the init itself runs with an empty environment");
      await lab.denki(["delete", "--force", "c1"]);
      const r = await lab.denki(["run", "--bundle", b.dir, "c2"], { env });
      assert.equal(r.code, 0, r.stderr);
      const [environ, envOut] = r.stdout.split("---\n");
      // process.env in order, plus HOME (as runc adds it) from root's entry in the image's passwd.
      assert.equal(environ, "PATH=/bin\nB=second\nA=first\nHOME=/root\n", "process.env and HOME");
      assert.doesNotMatch(r.stdout, /hunter2|TOP_SECRET|LISTEN_/);
      assert.deepEqual(
        envOut!.trim().split("\n").sort(),
        ["A=first", "B=second", "HOME=/root", "PATH=/bin", "PWD=/", "SHLVL=1"].sort(),
      );
    }),
);

T(
  "HOME comes from the container's own /etc/passwd when process.env has none, for run and exec",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((c) => {
        c.process.env = ["PATH=/bin"];
        c.process.args = ["sh", "-c", 'echo "home=$HOME"; sleep 5'];
        c.process.user = { uid: 1000, gid: 1000 };
      });
      Deno.mkdirSync(`${b.rootfs}/etc`, { recursive: true });
      Deno.writeTextFileSync(
        `${b.rootfs}/etc/passwd`,
        "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
      );
      // The host's HOME must never be what the workload sees.
      const env = { HOME: "/host/home/secret" };
      const created = await lab.denki(["run", "-d", "--bundle", b.dir, "c1"], { env });
      assert.equal(created.code, 0, created.stderr);
      const exec = await lab.denki(["exec", "c1", "sh", "-c", 'echo "exec home=$HOME"'], { env });
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(exec.stdout, "exec home=/home/alice\n");
      const given = await lab.denki(["exec", "-e", "HOME=/given", "c1", "sh", "-c", "echo $HOME"]);
      assert.equal(given.stdout, "/given\n", "a HOME in the process's env is kept");
      const root = await lab.denki(["exec", "-u", "0", "c1", "sh", "-c", "echo $HOME"]);
      assert.equal(root.stdout, "/root\n");
      await lab.denki(["delete", "--force", "c1"]);
      const r = await lab.denki(["run", "--bundle", b.dir, "c2"], { env });
      assert.match(r.stdout, /^home=\/home\/alice$/m);
    }),
);

T(
  "stdio is the caller's, --preserve-fds passes fds 3.., others are closed",
  () =>
    withLab(async (lab) => {
      const file = `${lab.dir}/data`;
      Deno.writeTextFileSync(file, "from fd 3\n");
      const script = "cat <&3; ls /proc/self/fd | sort -n | tr '\\n' ' '";
      const b = lab.bundle((c) => (c.process.args = ["sh", "-c", script]));
      // bash opens the file as fd 3 for denki; the container must see it only when preserved.
      const launcher = new URL("../bin/denki", import.meta.url).pathname;
      const sh = (extra: string) =>
        new Deno.Command("bash", {
          args: [
            "-c",
            `exec 3<${file}; exec ${launcher} --root ${lab.root} run ${extra} --bundle ${b.dir} c${extra.length}`,
          ],
          clearEnv: true,
          env: { PATH: "/usr/bin:/bin", DENKI_DENO: Deno.execPath() },
          stdout: "piped",
          stderr: "piped",
        }).output();
      const preserved = await sh("--preserve-fds 1");
      const out = new TextDecoder().decode(preserved.stdout);
      assert.equal(preserved.code, 0, new TextDecoder().decode(preserved.stderr));
      assert.equal(out, "from fd 3\n0 1 2 3 4 ", "fd 3 passed; 4 is ls's own directory fd");
      const closed = await sh("");
      const out2 = new TextDecoder().decode(closed.stdout);
      assert.equal(out2, "0 1 2 3 ", "no fd 3 from the caller (3 is ls's directory fd)");
    }),
);

T("bad input fails with one line and leaves nothing behind", () =>
  withLab(async (lab) => {
    const before = hostMountsUnder(lab.dir).length;
    const cases: [string, (c: Json) => void, RegExp][] = [
      [
        "missing program",
        (c) => (c.process.args = ["/nonexistent"]),
        /exec: \\"\/nonexistent\\": stat \/nonexistent: no such file or directory/,
      ],
      [
        "program not in PATH",
        (c) => (c.process.args = ["nosuchcmd"]),
        /exec: \\"nosuchcmd\\": executable file not found in \$PATH/,
      ],
      [
        "terminal without a console socket",
        (c) => (c.process.terminal = true),
        /cannot allocate tty if denki will detach without setting console socket/,
      ],
      ["user namespace without its root", (c) => {
        c.linux.namespaces.push({ type: "user" });
        c.linux.uidMappings = [{ containerID: 1, hostID: 1000, size: 1 }];
        c.linux.gidMappings = [{ containerID: 1, hostID: 1000, size: 1 }];
      }, /cannot become gid 0 of the user namespace \(the user namespace must map 0\)/],
      ["missing rootfs", (c) => (c.root.path = "nowhere"), /rootfs .*\/nowhere does not exist/],
      [
        "bad mount",
        (c) =>
          c.mounts.push({
            destination: "/mnt",
            type: "bind",
            source: "/nonexistent-src",
            options: ["bind"],
          }),
        /cannot mount bind \\"\/nonexistent-src\\" on \\"\/mnt\\": the source does not exist/,
      ],
      [
        "failing createRuntime hook",
        (c) => (c.hooks = { createRuntime: [{ path: "/bin/false" }] }),
        /createRuntime hook \/bin\/false failed: exit status 1/,
      ],
      [
        "failing createContainer hook",
        (c) => (c.hooks = {
          createContainer: [{ path: "/bin/sh", args: ["sh", "-c", "echo broken >&2; exit 3"] }],
        }),
        /createContainer hook \/bin\/sh failed: exit status 3: broken/,
      ],
      [
        "a killed init",
        (c) => (c.hooks = {
          createRuntime: [{
            path: "/bin/sh",
            args: ["sh", "-c", "kill -9 $(sed -e 's/.*\"pid\":\\([0-9]*\\).*/\\1/')"],
          }],
        }),
        /container init exited before it was ready \(killed by SIGKILL\)/,
      ],
      [
        "unknown capability",
        (c) => (c.process.capabilities.bounding = ["CAP_NONSENSE"]),
        /unknown capabilities in process.capabilities: CAP_NONSENSE/,
      ],
    ];
    for (const [name, patch, message] of cases) {
      const b = lab.bundle(patch);
      const r = await lab.denki(["create", "--bundle", b.dir, "bad"]);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, message, name);
      assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: one line: ${r.stderr}`);
      assert.deepEqual(lab.containers(), [], `${name}: no state left`);
      assert.equal(hostMountsUnder(lab.dir).length, before, `${name}: no mount left`);
    }
    const noConfig = await lab.denki(["create", "--bundle", `${lab.dir}/nope`, "x"]);
    assert.equal(noConfig.code, 1);
    assert.match(noConfig.stderr, /cannot read .*\/nope\/config.json: no such file or directory/);
    const badId = await lab.denki(["create", "--bundle", lab.bundle().dir, "../x"]);
    assert.match(badId.stderr, /invalid container id/);
    assert.deepEqual(lab.containers(), []);
  }));

T("two creates of one id at once: exactly one wins", () =>
  withLab(async (lab) => {
    const b = lab.bundle((c) => (c.process.args = ["true"]));
    const results = await Promise.all(
      [0, 1, 2].map(() => lab.denki(["create", "--bundle", b.dir, "same"])),
    );
    const codes = results.map((r) => r.code).sort();
    assert.deepEqual(codes, [0, 1, 1], results.map((r) => r.stderr).join("\n"));
    for (const r of results.filter((r) => r.code === 1)) {
      assert.match(r.stderr, /container \\"same\\" already exists/);
    }
    assert.equal((await lab.denki(["delete", "same"])).code, 0);
  }));

T(
  "twenty containers created and deleted in parallel: all succeed, nothing leaks",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((c) => (c.process.args = ["sleep", "30"]));
      const ids = Array.from({ length: 20 }, (_, i) => `p${i}`);
      const created = await Promise.all(
        ids.map((id) => lab.denki(["create", "--bundle", b.dir, id])),
      );
      created.forEach((r, i) => assert.equal(r.code, 0, `${ids[i]}: ${r.stderr}`));
      const pids = await Promise.all(
        ids.map(async (id) => JSON.parse((await lab.denki(["state", id])).stdout).pid as number),
      );
      const deleted = await Promise.all(ids.map((id) => lab.denki(["delete", id])));
      deleted.forEach((r, i) => assert.equal(r.code, 0, `${ids[i]}: ${r.stderr}`));
      assert.deepEqual(lab.containers(), []);
      for (const pid of pids) {
        let alive = false;
        try {
          alive = Deno.readTextFileSync(`/proc/${pid}/stat`).split(" ")[2] !== "Z";
        } catch {
          alive = false;
        }
        assert.ok(!alive, `init ${pid} is gone`);
      }
      assert.deepEqual(hostMountsUnder(lab.dir), []);
    }),
);

T(
  "an interrupted start leaves a container that counts as running, not one a second start waits on",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((c) => (c.process.args = ["sleep", "30"]));
      assert.equal((await lab.denki(["create", "--bundle", b.dir, "c1"])).code, 0);
      // What a start killed right after releasing the init leaves: the fifo is gone.
      Deno.removeSync(`${lab.root}/c1/exec.fifo`);
      assert.equal(JSON.parse((await lab.denki(["state", "c1"])).stdout).status, "running");
      const again = await lab.denki(["start", "c1"]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /its status is \\"running\\"/);
    }),
);

T(
  "a leftover directory of a killed create is reused by the next create",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((c) => (c.process.args = ["true"]));
      Deno.mkdirSync(`${lab.root}/c1`, { recursive: true });
      Deno.writeTextFileSync(`${lab.root}/c1/exec.fifo`, "stale");
      const r = await lab.denki(["create", "--bundle", b.dir, "c1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse((await lab.denki(["state", "c1"])).stdout).status, "created");
    }),
);
