/**
 * Containers with a user namespace, created by root: the container's root is uid 100000 on the
 * host (a map of 65536 ids), which the workload itself shows (id, uid_map) and which a file it
 * makes in a bind mount carries on the host; what only the host's root may do (device nodes,
 * kernel modules) fails inside; a second container joins the first one's user namespace by
 * path; `exec` enters it; the hostile configurations (allowlist seccomp with and without
 * no_new_privs, tight rlimits) still reach the workload; and bad maps are refused in one line,
 * leaving nothing behind. The rootfs copies are owned by the mapped root, as a user-namespaced
 * container's image must be (the namespace's root has no power over files of unmapped owners).
 */
import assert from "node:assert/strict";
import { type Bundle, CONTAINER_REQS, type Json, type Lab, withLab } from "./support/container.ts";
import { testWith } from "./support/requires.ts";
import { applyHostile, CONFIGS, EVIDENCE, hostileReqs } from "./support/hostile.ts";
import { exists } from "./support/fs.ts";
import { cgroupsNamed } from "./support/cgroup_cleanup.ts";

const HOST_ROOT = 100000;
const MAP = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];
const dec = new TextDecoder();

/** Adds a new user namespace mapping 0..65535 to 100000.. (and a /shared bind of `shared`). */
function userns(c: Json, shared?: string): void {
  c.linux.namespaces.push({ type: "user" });
  c.linux.uidMappings = MAP;
  c.linux.gidMappings = MAP;
  if (shared !== undefined) {
    c.mounts.push({ destination: "/shared", type: "bind", source: shared, options: ["rbind"] });
  }
}

function chownR(path: string, id: number): void {
  const out = new Deno.Command("chown", { args: ["-R", `${id}:${id}`, path] }).outputSync();
  if (!out.success) throw new Error(`chown ${path}: ${dec.decode(out.stderr)}`);
}

/**
 * A bundle with a user namespace whose rootfs the mapped root owns, and `shared`, a directory
 * of the host's (owned by it too) bound on `/shared`.
 */
function usernsBundle(
  lab: Lab,
  args: string[],
  patch: (c: Json) => void = () => {},
): Bundle & { shared: string } {
  // The namespace's root is "others" to the host's directories: the bundle's must let it pass.
  Deno.chmodSync(lab.dir, 0o755);
  const shared = Deno.makeTempDirSync({ dir: lab.dir, prefix: "shared-" });
  const b = lab.bundle((c) => {
    c.process.args = args;
    userns(c, shared);
    patch(c);
  });
  Deno.mkdirSync(`${b.rootfs}/shared`, { recursive: true });
  chownR(b.rootfs, HOST_ROOT);
  chownR(shared, HOST_ROOT);
  return { ...b, shared };
}

testWith(
  "user namespace: root inside is 100000 outside, and cannot do what only the host's root may",
  CONTAINER_REQS,
  () =>
    withLab(async (lab) => {
      // A kernel module that is not one: the host's root gets a format error, a namespace's root
      // a permission error before the kernel looks at it.
      const script = [
        "id -u; id -g",
        "cat /proc/self/uid_map /proc/self/gid_map",
        "touch /shared/made-inside",
        "mknod /shared/null c 1 3 2>&1 || echo mknod-refused",
        "echo not-a-module > /shared/m.ko; insmod /shared/m.ko 2>&1 || echo insmod-refused",
        "echo userns-marker",
      ].join("; ");
      const b = usernsBundle(lab, ["sh", "-c", script]);
      const r = await lab.denki(["run", "--bundle", b.dir, "u1"]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "));
      assert.deepEqual(lines.slice(0, 4), ["0", "0", "0 100000 65536", "0 100000 65536"]);
      assert.ok(lines.includes("mknod-refused"), r.stdout);
      assert.match(r.stdout, /mknod: \/shared\/null: Operation not permitted/);
      if (exists("/proc/modules")) {
        assert.ok(lines.includes("insmod-refused"), r.stdout);
        assert.match(r.stdout, /insmod: .*Operation not permitted/, r.stdout);
      }
      assert.equal(lines.at(-1), "userns-marker");
      const made = Deno.statSync(`${b.shared}/made-inside`);
      assert.equal(made.uid, HOST_ROOT, "the file is the host's uid 100000");
      assert.equal(made.gid, HOST_ROOT);
      assert.deepEqual(lab.containers(), []);
    }),
);

testWith(
  "user namespace: a second container joins the first's by path; exec enters it",
  CONTAINER_REQS,
  () =>
    withLab(async (lab) => {
      const a = usernsBundle(lab, ["sleep", "100"]);
      assert.equal((await lab.denki(["run", "-d", "--bundle", a.dir, "ua"])).code, 0);
      const state = JSON.parse((await lab.denki(["state", "ua"])).stdout);
      const ns = Deno.readLinkSync(`/proc/${state.pid}/ns/user`);
      assert.notEqual(ns, Deno.readLinkSync("/proc/self/ns/user"));
      // B: the same user namespace (no maps of its own), new namespaces of every other kind.
      const b = usernsBundle(lab, [
        "sh",
        "-c",
        "readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; echo joined-marker",
      ], (c) => {
        c.linux.namespaces = c.linux.namespaces.map((n: Json) =>
          n.type === "user" ? { type: "user", path: `/proc/${state.pid}/ns/user` } : n
        );
        delete c.linux.uidMappings;
        delete c.linux.gidMappings;
      });
      const r = await lab.denki(["run", "--bundle", b.dir, "ub"]);
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "));
      assert.deepEqual(out, [ns, "0 100000 65536", "0", "joined-marker"]);
      // exec: into the user namespace, as its root.
      const e = await lab.denki(["exec", "ua", "sh", "-c", "readlink /proc/self/ns/user; id -u"]);
      assert.equal(e.code, 0, e.stderr);
      assert.deepEqual(e.stdout.trim().split("\n"), [ns, "0"]);
      assert.equal((await lab.denki(["delete", "--force", "ua"])).code, 0);
    }),
);

for (
  const h of CONFIGS.filter((c) => c.name.startsWith("tight") || c.name === "no-seccomp+rlimits")
) {
  testWith(
    `user namespace under ${h.name}: the workload runs and shows the configuration`,
    [...CONTAINER_REQS, ...hostileReqs(h)],
    () =>
      withLab(async (lab) => {
        const b = usernsBundle(lab, ["sh", "-c", `echo hostile-userns; ${EVIDENCE}`], (c) => {
          applyHostile(h, c);
        });
        const r = await lab.denki(["run", "--bundle", b.dir, "uh"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^hostile-userns$/m);
        assert.match(r.stdout, new RegExp(`^NoNewPrivs:\\s+${h.nnp ? 1 : 0}$`, "m"));
        if (h.profile !== undefined) assert.match(r.stdout, /^Seccomp:\s+2$/m);
        if (h.rlimits) assert.match(r.stdout, /^Max open files\s+64\s+64/m);
      }),
  );
}

testWith(
  "user namespace: maps without the container's root are refused in one line, leaving nothing",
  CONTAINER_REQS,
  () =>
    withLab(async (lab) => {
      const b = usernsBundle(lab, ["true"], (c) => {
        c.linux.uidMappings = [{ containerID: 1000, hostID: HOST_ROOT, size: 10 }];
        c.linux.cgroupsPath = `/denki-userns-${Deno.pid}`;
      });
      const r = await lab.denki(["run", "--bundle", b.dir, "ubad"]);
      assert.notEqual(r.code, 0);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /uid 0|uid_map|not mapped|0 mapped/);
      assert.deepEqual(lab.containers(), []);
      assert.deepEqual(cgroupsNamed(`denki-userns-${Deno.pid}`), []);
    }),
);
