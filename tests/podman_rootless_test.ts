/**
 * Rootless podman with denki as its runtime: a user made for the test (with a subordinate id
 * range, tests/support/users.ts) runs Debian's podman with vfs storage in its own home, which
 * makes its user namespace through newuidmap and runs denki inside it as that namespace's root
 * (so denki is rootless there: its state under XDG_RUNTIME_DIR, no cgroup). `run --rm` prints
 * the workload's marker and its uid map; `run -d`, `exec`, `stop` and `rm` work; nothing of the
 * user's is left afterwards.
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "./support/denki.ts";
import { program, root, testWith } from "./support/requires.ts";
import { pidsOfUid, type TestUser, withTestUser } from "./support/users.ts";
import { BUSYBOX_IMAGE, testImages } from "./support/test_images.ts";

const REQS = [
  root(),
  program("busybox"),
  program("podman"),
  program("conmon"),
  program("useradd"),
  program("setpriv"),
  program("newuidmap"),
];

/**
 * Runs `podman` as the user, with everything it keeps in the user's temp home and runtime
 * dir, vfs storage, cgroupfs (no systemd), and denki (through a wrapper that tells it Deno) as
 * the runtime.
 */
function podman(u: TestUser) {
  const wrapper = `${u.home}/denki`;
  const flags = [
    "--storage-driver",
    "vfs",
    "--root",
    `${u.home}/storage`,
    "--runroot",
    `${u.runtimeDir}/containers`,
    "--tmpdir",
    `${u.runtimeDir}/libpod-tmp`,
    "--runtime",
    wrapper,
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
  ];
  return (...args: string[]) =>
    u.run("podman", [...flags, ...args], {
      env: { TMPDIR: `${u.home}/tmp`, CONTAINERS_CONF: `${u.home}/containers.conf` },
      timeoutMs: 120_000,
    });
}

/** The user's home set up for podman: the image tar, the runtime wrapper, a containers.conf. */
async function prepare(u: TestUser): Promise<void> {
  const { busybox } = await testImages();
  Deno.copyFileSync(busybox.tar, `${u.home}/busybox.tar`);
  Deno.mkdirSync(`${u.home}/tmp`);
  Deno.writeTextFileSync(
    `${u.home}/denki`,
    `#!/bin/sh\nDENKI_DENO='${Deno.execPath()}' exec '${LAUNCHER}' "$@"\n`,
  );
  Deno.chmodSync(`${u.home}/denki`, 0o755);
  // Only this file: no system-wide containers.conf (its network backends, registries).
  Deno.writeTextFileSync(`${u.home}/containers.conf`, '[engine]\nlock_type = "file"\n');
  const chown = new Deno.Command("chown", { args: ["-R", `${u.uid}:${u.gid}`, u.home] })
    .outputSync();
  assert.ok(chown.success);
}

const RUN = ["run", "--network", "none", "--pull", "never"];

testWith(
  "podman (rootless): run --rm; run -d, exec, stop, rm with denki as the runtime",
  REQS,
  () =>
    withTestUser(async (u) => {
      await prepare(u);
      const p = podman(u);
      const loaded = await p("load", "-i", `${u.home}/busybox.tar`);
      assert.equal(loaded.code, 0, loaded.stderr);

      const r = await p(
        ...RUN,
        "--rm",
        BUSYBOX_IMAGE,
        "sh",
        "-c",
        "cat /proc/self/uid_map; echo rootless-podman-marker",
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "));
      // podman's namespace: the user as root, its subordinate range for the rest.
      assert.deepEqual(lines, [
        `0 ${u.uid} 1`,
        `1 ${u.subuid!.start} ${u.subuid!.count}`,
        "rootless-podman-marker",
      ]);

      const d = await p(
        ...RUN,
        "-d",
        "--name",
        "bg",
        BUSYBOX_IMAGE,
        "sh",
        "-c",
        "trap 'exit 0' TERM; echo bg-started; while :; do sleep 0.1; done",
      );
      assert.equal(d.code, 0, d.stderr);
      const e = await p("exec", "bg", "sh", "-c", "id -u; echo exec-marker");
      assert.equal(e.code, 0, e.stderr);
      assert.equal(e.stdout, "0\nexec-marker\n");
      // denki kept its state where a rootless runtime keeps it.
      const state = `${u.runtimeDir}/denki`;
      assert.ok(
        [...Deno.readDirSync(state)].some((x) => x.isDirectory),
        "a container in the state",
      );
      const s = await p("stop", "-t", "10", "bg");
      assert.equal(s.code, 0, s.stderr);
      const logs = await p("logs", "bg");
      assert.match(logs.stdout, /^bg-started$/m);
      const inspect = await p("inspect", "--format", "{{.State.ExitCode}}", "bg");
      assert.equal(inspect.stdout.trim(), "0", "the workload's TERM trap ran");
      assert.equal((await p("rm", "bg")).code, 0);
      assert.equal((await p("ps", "-a", "-q")).stdout.trim(), "");
      assert.deepEqual(
        [...Deno.readDirSync(state)].filter((x) => x.isDirectory && !x.name.startsWith("@")),
        [],
      );
      // podman's own pause process holds its namespace; it goes with the user (withTestUser).
      await p("system", "reset", "--force");
      const left = pidsOfUid(u.uid).map((pid) =>
        Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0")[0]
      );
      assert.ok(
        !left.some((c) => c?.includes("denki") || c === "sleep" || c === "sh"),
        `left: ${left}`,
      );
    }, { subids: true }),
);
