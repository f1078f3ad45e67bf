/**
 * Containers without a mount namespace of their own (no `mount` entry in linux.namespaces), as
 * runc runs them: the root is a chroot in the host's mount namespace and the config's mounts
 * are made in the host's table under the rootfs. These tests check the workload itself (what
 * it printed, read back), that the host's table shows its mounts while it runs, and that after
 * `delete` (of a running container, a failed create, a create killed midway) the host's mount
 * table is what it was before create: same mount IDs on the same mount points. A container
 * that swaps a mount point for a symlink to a host path cannot make delete unmount it.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS, type Json, Lab } from "./support/container.ts";
import { LAUNCHER, run } from "./support/denki.ts";
import { acceptUnix, listenUnix, recvWithFds } from "../lib/sys/unix.ts";
import * as sc from "../lib/sys/syscalls.ts";
import { program, testWith } from "./support/requires.ts";
import { exists } from "./support/fs.ts";

const T = (name: string, fn: (lab: Lab) => Promise<void>) =>
  testWith(`no mount namespace: ${name}`, CONTAINER_REQS, () => withNoMountLab(fn));

/** The host's mount table as "ID mount-point" lines, sorted. */
function mountTable(): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").filter((l) => l !== "")
    .map((l) => l.split(" ")).map((f) => `${f[0]} ${f[4]}`).sort();
}

/** Mount points of the host's table under `dir`. */
function mountsUnder(dir: string): string[] {
  return mountTable().map((l) => l.split(" ")[1]!).filter((p) => p.startsWith(`${dir}/`));
}

/**
 * A Lab whose cleanup never leaves a mount behind: should delete have failed to remove one,
 * it is detached (deepest first) before the lab's files are removed, so the removal cannot
 * reach through a bind mount into the host's files.
 */
async function withNoMountLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = new Lab();
  try {
    await fn(lab);
  } finally {
    for (const id of lab.containers()) await lab.denki(["delete", "--force", id]);
    const left = mountsUnder(lab.dir).sort((a, b) => b.length - a.length);
    for (const point of left) {
      new Deno.Command("umount", { args: ["-l", point], stdout: "null", stderr: "null" })
        .outputSync();
    }
    await lab.cleanup();
  }
}

/** The base config without a mount namespace and without what needs one. */
function noMountNs(c: Json): void {
  c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== "mount");
  delete c.linux.maskedPaths;
  delete c.linux.readonlyPaths;
  c.root.readonly = false;
  c.mounts.push({
    destination: "/scratch",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "size=1m"],
  });
}

async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** What the workload of the first test writes into /report: the proof it ran, and what it saw. */
const REPORT_SCRIPT = [
  "exec >/report.tmp",
  "echo MARKER-$(cat /where)",
  "echo proc1=$(cat /proc/1/comm)",
  "grep -c . /proc/self/mountinfo",
  "grep ' /scratch ' /proc/self/mountinfo | cut -d' ' -f5",
  "grep ' /scratch ' /proc/self/mountinfo | sed 's/.* - //; s/ .*//'",
  "echo hello > /scratch/file && echo scratch=$(cat /scratch/file)",
  "mv /report.tmp /report",
  "exec sleep 1000",
].join("\n");

T(
  "a running container sees its rootfs as / and its mounts; delete -f restores the host's table",
  async (lab) => {
    const b = lab.bundle((c) => {
      noMountNs(c);
      c.process.args = ["sh", "-c", REPORT_SCRIPT];
    });
    Deno.writeTextFileSync(`${b.rootfs}/where`, "in-the-rootfs\n");
    const before = mountTable();
    const created = await lab.denki(["create", "--bundle", b.dir, "c1"]);
    assert.equal(created.code, 0, created.stderr);
    const rec = JSON.parse(Deno.readTextFileSync(`${lab.root}/c1/state.json`));
    const points = rec.mounts.map((m: Json) => m.point);
    for (const p of ["/proc", "/dev", "/dev/pts", "/sys", "/scratch"]) {
      assert.ok(points.includes(p), `${p} is recorded: ${points.join(" ")}`);
    }
    // While it exists, the host's table shows exactly the recorded mounts under the rootfs.
    const real = Deno.realPathSync(b.rootfs);
    assert.deepEqual(
      mountsUnder(real).sort(),
      rec.mounts.map((m: Json) => `${real}${m.point}`).sort(),
    );
    assert.equal((await lab.denki(["start", "c1"])).code, 0);
    await waitFor("the workload's report", () => read(`${b.rootfs}/report`) !== "");
    const report = read(`${b.rootfs}/report`).split("\n");
    assert.equal(report[0], "MARKER-in-the-rootfs", "the workload ran with the rootfs as /");
    assert.equal(report[1], "proc1=sh", "/proc is the container's own (its pid namespace)");
    // A chroot's mountinfo lists only the mounts under its root: the container's own.
    assert.equal(Number(report[2]), rec.mounts.length);
    assert.deepEqual(report.slice(3, 6), ["/scratch", "tmpfs", "scratch=hello"]);
    // exec lands in the container's root too (there is no mount namespace that would put it there).
    const ex = await lab.denki(["exec", "c1", "sh", "-c", "cat /where; pwd"]);
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout, "in-the-rootfs\n/\n");
    // The container's tmpfs is in the host's table: the host sees what the workload wrote.
    assert.equal(read(`${b.rootfs}/scratch/file`), "hello\n");
    const del = await lab.denki(["delete", "-f", "c1"]);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(mountTable(), before, "the host's mount table is as before create");
    assert.equal(read(`${b.rootfs}/scratch/file`), "", "the tmpfs went with the container");
    assert.deepEqual(lab.containers(), []);
  },
);

T(
  "run in the foreground (also with --no-pivot), and a Wasm workload: the table is unchanged",
  async (lab) => {
    const before = mountTable();
    for (const [id, extra] of [["r1", []], ["r2", ["--no-pivot"]]] as const) {
      const b = lab.bundle((c) => {
        noMountNs(c);
        c.process.args = [
          "sh",
          "-c",
          "echo ran-$(cat /where) && ls /scratch && cat /proc/1/comm; true",
        ];
      });
      Deno.writeTextFileSync(`${b.rootfs}/where`, id);
      const r = await lab.denki(["run", ...extra, "--bundle", b.dir, id]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `ran-${id}\nsh\n`);
      assert.deepEqual(mountTable(), before, `after run ${id}`);
    }
    // The Wasm init runs Deno (from a read-only copy of its binary's mount) until the guest ends.
    const w = lab.bundle((c) => {
      c.process.args = ["/hello.wasm"];
      c.process.env = ["GREETING=hi"];
      c.annotations = { "run.oci.handler": "wasm" };
      c.root.readonly = false;
      c.mounts = [{ destination: "/proc", type: "proc", source: "proc" }];
      c.linux = { namespaces: [{ type: "pid" }, { type: "uts" }] };
    }, (rootfs) => {
      Deno.copyFileSync(
        new URL("../bundles/hello-wasm/rootfs/hello.wasm", import.meta.url).pathname,
        `${rootfs}/hello.wasm`,
      );
    });
    const r = await lab.denki(["run", "--bundle", w.dir, "w1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Hello from a denki Wasm container/);
    assert.match(r.stdout, /GREETING=hi/);
    assert.deepEqual(mountTable(), before, "after the Wasm run");
  },
);

T("a create that fails at a late mount undoes the earlier ones and leaves nothing", async (lab) => {
  const b = lab.bundle((c) => {
    noMountNs(c);
    c.process.args = ["true"];
    c.mounts.push({ destination: "/late", type: "nosuchfs", source: "nothing" });
  });
  const before = mountTable();
  const r = await lab.denki(["create", "--bundle", b.dir, "bad"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot mount nosuchfs \\"nothing\\" on \\"\/late\\": .*ENODEV/);
  assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
  assert.deepEqual(mountTable(), before);
  assert.deepEqual(lab.containers(), []);
});

T(
  "delete -f undoes the mounts of a create killed midway (recorded before it died)",
  async (lab) => {
    const marker = `${lab.dir}/hook-pid`;
    const b = lab.bundle((c) => {
      noMountNs(c);
      c.process.args = ["true"];
      c.hooks = {
        createRuntime: [{
          path: "/bin/sh",
          args: ["sh", "-c", `echo $$ > ${marker}; exec sleep 60`],
        }],
      };
    });
    const before = mountTable();
    const child = new Deno.Command(LAUNCHER, {
      args: ["--root", lab.root, "create", "--bundle", b.dir, "half"],
      clearEnv: true,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", DENKI_DENO: Deno.execPath() },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let hook: number | undefined;
    try {
      await waitFor("the createRuntime hook", () => /\d/.test(read(marker)), 30_000);
      hook = Number(read(marker).trim());
    } finally {
      child.kill("SIGKILL");
      await child.status;
      if (hook !== undefined) {
        try {
          Deno.kill(hook, "SIGKILL");
        } catch {
          // gone already
        }
      }
    }
    const rec = JSON.parse(read(`${lab.root}/half/creating.json`));
    const real = Deno.realPathSync(b.rootfs);
    assert.ok(rec.mounts.length >= 6, "the mounts made so far were recorded");
    assert.deepEqual(
      mountsUnder(real).sort(),
      rec.mounts.map((m: Json) => `${real}${m.point}`).sort(),
      "every mount in the host's table under the rootfs is recorded",
    );
    const del = await lab.denki(["delete", "-f", "half"]);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(mountTable(), before);
    assert.deepEqual(lab.containers(), []);
  },
);

T(
  "a mount point swapped for a symlink to a host path cannot make delete unmount the host's",
  async (lab) => {
    // The victim: a mount of the host's (a tmpfs of this test's, outside the rootfs).
    const victim = `${lab.dir}/victim/m`;
    Deno.mkdirSync(victim, { recursive: true });
    const m = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=1m", "victim", victim],
    })
      .outputSync();
    assert.ok(m.success, "mount the victim tmpfs");
    Deno.writeTextFileSync(`${victim}/keep`, "still here");
    const attack = [
      // Takes denki's tmpfs off /work and puts a link to the victim's host path in its place.
      "umount /work && rmdir /work && ln -s " + victim + " /work",
      // Moves /deep (holding denki's tmpfs at /deep/m) away and links /deep to the victim's
      // parent, so /deep/m names the victim from the host's side.
      "mv /deep /moved && ln -s " + `${lab.dir}/victim` + " /deep",
      "echo SWAPPED > /swapped",
      "exec sleep 1000",
    ].join(" && ");
    const b = lab.bundle((c) => {
      noMountNs(c);
      c.mounts.push({ destination: "/work", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
      c.mounts.push({
        destination: "/deep/m",
        type: "tmpfs",
        source: "tmpfs",
        options: ["size=1m"],
      });
      for (const set of ["bounding", "effective", "permitted"]) {
        c.process.capabilities[set].push("CAP_SYS_ADMIN");
      }
      c.process.args = ["sh", "-c", attack];
    });
    try {
      const before = mountTable();
      assert.equal((await lab.denki(["create", "--bundle", b.dir, "evil"])).code, 0);
      assert.equal((await lab.denki(["start", "evil"])).code, 0);
      await waitFor("the swap", () => read(`${b.rootfs}/swapped`) === "SWAPPED\n");
      const real = Deno.realPathSync(b.rootfs);
      assert.ok(mountsUnder(real).includes(`${real}/moved/m`), "denki's tmpfs moved with /deep");
      const del = await lab.denki(["delete", "-f", "evil"]);
      assert.equal(del.code, 0, del.stderr);
      assert.equal(read(`${victim}/keep`), "still here", "the victim is still mounted");
      assert.deepEqual(mountTable(), before, "denki's mounts are gone (also the moved one)");
    } finally {
      new Deno.Command("umount", { args: ["-l", victim] }).outputSync();
    }
  },
);

T("what needs a private mount table is refused in one line, leaving nothing", async (lab) => {
  const cases: [string, (c: Json) => void, RegExp][] = [
    [
      "maskedPaths",
      (c) => (c.linux.maskedPaths = ["/proc/kcore"]),
      /linux\.maskedPaths needs a mount namespace/,
    ],
    [
      "readonlyPaths",
      (c) => (c.linux.readonlyPaths = ["/proc/sys"]),
      /linux\.readonlyPaths needs a mount namespace/,
    ],
    ["root.readonly", (c) => (c.root.readonly = true), /root\.readonly needs a mount namespace/],
    [
      "rootfsPropagation",
      (c) => (c.linux.rootfsPropagation = "rprivate"),
      /rootfsPropagation would change the host's mount propagation/,
    ],
  ];
  const before = mountTable();
  for (const [what, patch, message] of cases) {
    const b = lab.bundle((c) => {
      noMountNs(c);
      c.process.args = ["true"];
      patch(c);
    });
    const r = await lab.denki(["create", "--bundle", b.dir, "refused"]);
    assert.equal(r.code, 1, what);
    assert.match(r.stderr, message, what);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${what}: one line`);
    assert.deepEqual(lab.containers(), [], `${what}: no state left`);
    assert.deepEqual(mountTable(), before, `${what}: no mount left`);
  }
});

/** Waits (without blocking the event loop) until `fd` is readable; false after `ms`. */
async function readable(fd: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (sc.pollOne(fd, 1, 10) !== 0) return true;
    await new Promise((r) => setTimeout(r, 0));
  }
  return false;
}

T("a terminal's /dev/console bind (made after the chroot) is recorded and removed", async (lab) => {
  const b = lab.bundle((c) => {
    noMountNs(c);
    c.process.terminal = true;
    c.process.args = ["sh", "-c", "stat -c 'console=%t' /dev/console; exec sleep 1000"];
  });
  const before = mountTable();
  const path = `${lab.dir}/console.sock`;
  const listener = listenUnix(path);
  let master: number | undefined;
  try {
    const creating = run([
      "--root",
      lab.root,
      "create",
      "--bundle",
      b.dir,
      "--console-socket",
      path,
      "t1",
    ]);
    assert.ok(await readable(listener, 20000), "create connects to the console socket");
    const conn = acceptUnix(listener);
    try {
      assert.ok(await readable(conn, 20000), "the init sends the master");
      master = recvWithFds(conn).fds[0];
    } finally {
      sc.close(conn);
    }
    const created = await creating;
    assert.equal(created.code, 0, created.stderr);
    const rec = JSON.parse(Deno.readTextFileSync(`${lab.root}/t1/state.json`));
    assert.ok(rec.mounts.some((m: Json) => m.point === "/dev/console"), "the bind is recorded");
    assert.equal((await lab.denki(["start", "t1"])).code, 0);
    let out = "";
    const buf = new Uint8Array(4096);
    while (!out.includes("console=")) {
      assert.ok(await readable(master!, 10000), `the workload writes to its terminal: ${out}`);
      const r = sc.tryRead(master!, buf);
      if (r.errno !== 0 || r.n === 0) break;
      out += new TextDecoder().decode(buf.subarray(0, r.n));
    }
    assert.match(out, /console=88/, "a pts (major 136) is bound on /dev/console");
    const del = await lab.denki(["delete", "-f", "t1"]);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(mountTable(), before);
  } finally {
    if (master !== undefined) sc.close(master);
    sc.close(listener);
  }
});

/** tests/security/attack.c, built static (it runs in a busybox root); undefined without clang. */
function attackBinary(dir: string): string {
  const out = new Deno.Command("clang-14", {
    args: [
      "-static",
      "-O2",
      "-o",
      `${dir}/attack`,
      `${new URL("./security/attack.c", import.meta.url).pathname}`,
    ],
    stderr: "piped",
  }).outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return `${dir}/attack`;
}

const libcA = `/usr/lib/${Deno.build.arch === "aarch64" ? "aarch64" : "x86_64"}-linux-gnu/libc.a`;

testWith(
  "no mount namespace: the init runs from a read-only copy of its binary's mount (CVE-2019-5736)",
  [
    ...CONTAINER_REQS,
    program("clang-14"),
    exists(libcA) ? undefined : "libc6-dev is not installed",
  ],
  () =>
    withNoMountLab(async (lab) => {
      // A copy of Deno that only this test's denki runs: the attack's target.
      const deno = `${lab.dir}/deno`;
      Deno.copyFileSync(Deno.execPath(), deno);
      Deno.chmodSync(deno, 0o755);
      const before = Deno.readFileSync(deno);
      const env = { DENKI_DENO: deno };
      // A pod (with its own mount namespace) whose process may ptrace, and the attacker in it.
      const pod = lab.bundle((c) => {
        c.process.args = ["sleep", "120"];
        c.root.readonly = false;
        for (const set of ["bounding", "effective", "permitted"]) {
          c.process.capabilities[set].push("CAP_SYS_PTRACE");
        }
      });
      Deno.copyFileSync(attackBinary(lab.dir), `${pod.rootfs}/attack`);
      Deno.chmodSync(`${pod.rootfs}/attack`, 0o755);
      assert.equal((await lab.denki(["run", "-d", "--bundle", pod.dir, "pod"], { env })).code, 0);
      const podPid = JSON.parse((await lab.denki(["state", "pod"])).stdout).pid;
      // A container without a mount namespace in the pod's pid namespace: its waiting init
      // (Deno) is visible to the attacker.
      const app = lab.bundle((c) => {
        noMountNs(c);
        c.process.args = ["true"];
        c.linux.namespaces = c.linux.namespaces.map((n: Json) =>
          n.type === "pid" ? { type: "pid", path: `/proc/${podPid}/ns/pid` } : n
        );
      });
      const created = await lab.denki(["create", "--bundle", app.dir, "app"], { env });
      assert.equal(created.code, 0, created.stderr);
      const script = "/attack exe 4 >/out 2>&1; echo END >>/out";
      assert.equal((await lab.denki(["exec", "-d", "pod", "sh", "-c", script], { env })).code, 0);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await lab.denki(["start", "app"], { env })).code, 0);
      await waitFor(
        "the attacker's report",
        () => /^END$/m.test(read(`${pod.rootfs}/out`)),
        20_000,
      );
      const text = read(`${pod.rootfs}/out`);
      assert.match(
        text,
        new RegExp(`^TARGET ${deno}$`, "m"),
        `the attacker held the init's binary:\n${text}`,
      );
      assert.match(text, new RegExp(`^DENIED ${deno} EROFS$`, "m"), text);
      assert.doesNotMatch(text, /^WROTE/m, text);
      assert.deepEqual(Deno.readFileSync(deno), before, "the runtime binary is unchanged");
    }),
);
