/**
 * The moment a workload starts: a workload that cannot start must never look like one that ran
 * (issue 12), foreground processes get pipes rather than the caller's own files, and a new
 * network namespace has its loopback interface up, as under runc.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS, type Json, withLab } from "./support/container.ts";
import { testWith } from "./support/requires.ts";

const T = (name: string, fn: () => Promise<void>) => testWith(`start: ${name}`, CONTAINER_REQS, fn);

/** logfmt quoting of a message, as denki's log lines have it. */
const logged = (s: string) => s.replaceAll('"', '\\"');

T(
  "a program gone after create fails start naming the program and the errno; the container stops",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((c: Json) => (c.process.args = ["/bin/tool"]));
      Deno.copyFileSync(`${b.rootfs}/bin/busybox`, `${b.rootfs}/bin/tool`);
      const created = await lab.denki(["create", "--bundle", b.dir, "c1"]);
      assert.equal(created.code, 0, created.stderr);
      Deno.removeSync(`${b.rootfs}/bin/tool`);
      const start = await lab.denki(["start", "c1"]);
      assert.equal(start.code, 1);
      // The execve itself finds out (the lookup ran at create, when the program was there).
      const why = 'denki init: exec "/bin/tool": ENOENT (no such file or directory)';
      assert.ok(start.stderr.includes(logged(`did not start: ${why}`)), start.stderr);
      assert.equal(JSON.parse((await lab.denki(["state", "c1"])).stdout).status, "stopped");
    }),
);

T(
  "an execve that fails after start: start names the step, debug says so, run exits non-zero",
  () =>
    withLab(async (lab) => {
      // Executable, but its interpreter is missing: only the execve itself finds out, in the
      // native stage, after `start` released the init.
      const b = lab.bundle((c: Json) => (c.process.args = ["/bin/tool"]));
      Deno.writeTextFileSync(`${b.rootfs}/bin/tool`, "#!/no/such/interpreter\n", { mode: 0o755 });
      assert.equal((await lab.denki(["create", "--bundle", b.dir, "c1"])).code, 0);
      const start = await lab.denki(["--debug", "start", "c1"]);
      assert.equal(start.code, 1);
      const step = 'denki init: exec "/bin/tool": ENOENT (no such file or directory)';
      const error = `level=error msg="${logged(`container "c1" did not start: ${step}`)}"`;
      const debug = `level=debug msg="${
        logged(`container "c1": the workload never ran: ${step}`)
      }"`;
      assert.ok(start.stderr.includes(error), start.stderr);
      assert.ok(start.stderr.includes(debug), start.stderr);
      assert.equal(JSON.parse((await lab.denki(["state", "c1"])).stdout).status, "stopped");
      // `run`: the container's stderr carries the line, and run exits non-zero.
      const r = await lab.denki(["run", "--bundle", b.dir, "r1"]);
      assert.notEqual(r.code, 0);
      assert.ok(r.stderr.split("\n").includes(step), r.stderr);
      assert.deepEqual(lab.containers(), ["c1"], "run removed its own container");
    }),
);

T(
  "foreground run and exec give the process pipes, never the caller's own files",
  () =>
    withLab(async (lab) => {
      const script = "for f in 0 1 2; do readlink /proc/self/fd/$f; done";
      const b = lab.bundle((c: Json) => (c.process.args = ["sh", "-c", script]));
      // stdout and stderr are files here: without the relay the process would see their paths.
      const r = await lab.denki(["run", "--bundle", b.dir, "r1"], { files: true });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, 3, r.stdout);
      for (const l of lines) assert.match(l, /^pipe:\[\d+\]$/, r.stdout);
      const d = lab.bundle((c: Json) => (c.process.args = ["sleep", "30"]));
      assert.equal((await lab.denki(["run", "-d", "--bundle", d.dir, "d1"])).code, 0);
      const e = await lab.denki(["exec", "d1", "sh", "-c", script], { files: true });
      assert.equal(e.code, 0, e.stderr);
      const out = e.stdout.trim().split("\n");
      assert.equal(out.length, 3, e.stdout);
      for (const l of out) assert.match(l, /^pipe:\[\d+\]$/, e.stdout);
      // Input reaches the process and ends, for run and for exec.
      const input = "through the relay\n";
      const cat = lab.bundle((c: Json) => (c.process.args = ["cat"]));
      const rc = await lab.denki(["run", "--bundle", cat.dir, "r2"], { input });
      assert.equal(rc.stdout, input, rc.stderr);
      const ec = await lab.denki(["exec", "d1", "cat"], { input });
      assert.equal(ec.stdout, input, ec.stderr);
    }),
);

T(
  "a new network namespace has lo up: a server and a client talk over 127.0.0.1",
  () =>
    withLab(async (lab) => {
      const script = "mkdir -p /tmp/www && echo served >/tmp/www/index.html && " +
        "httpd -p 127.0.0.1:8080 -h /tmp/www && sleep 0.3 && " +
        "wget -q -O- http://127.0.0.1:8080/index.html; ip link show lo | head -1";
      const r = await lab.runIn(["sh", "-c", script], (c: Json) => {
        c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^served$/m);
      assert.match(r.stdout, /<LOOPBACK,UP,LOWER_UP>/);
    }),
);
