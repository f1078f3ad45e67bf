/**
 * Idmapped bind mounts (mounts[].uidMappings/gidMappings, options idmap and ridmap): a host
 * directory owned by 1000:1000 shows up owned by 0:0 inside, both in a container with a user
 * namespace (0 -> 100000) and in one without; a file the container's root makes through the
 * mount is 1000's on the host; a plain bind of the same directory beside it shows the ids
 * unmapped (so the mapping is the idmap's doing); `idmap` without maps of its own takes the
 * container's user namespace's. Refusals: a file system that cannot be idmapped (proc), and a
 * mount that is not a bind, each one line, leaving nothing behind.
 *
 * The mount maps read as a user namespace's: on-disk `containerID` shows as host `hostID`.
 * So "1000 on disk is 0 inside" is {containerID: 1000, hostID: 100000} in a container whose
 * root is host 100000, and {containerID: 1000, hostID: 0} in one without a user namespace.
 */
import assert from "node:assert/strict";
import {
  type Bundle,
  CONTAINER_REQS,
  hostMountsUnder,
  type Json,
  type Lab,
  withLab,
} from "./support/container.ts";
import { isRoot, program, type Requirement, testWith } from "./support/requires.ts";
import { cgroupsNamed } from "./support/cgroup_cleanup.ts";
import { attempt } from "../lib/sys/call.ts";
import { cString } from "../lib/sys/libc.ts";
import * as sc from "../lib/sys/syscalls.ts";

const HOST_ROOT = 100000;
const OWNER = 1000;
const dec = new TextDecoder();

/**
 * Whether this kernel and the file system of the temp directories can idmap a mount, probed
 * with the kernel alone (not with denki): a user namespace from util-linux's unshare, then
 * open_tree and mount_setattr(MOUNT_ATTR_IDMAP) on a detached copy of a temp directory.
 */
async function idmapSupport(): Promise<Requirement> {
  if (!isRoot()) return "needs root";
  if (program("unshare") !== undefined) return "unshare (util-linux) is not installed";
  const dir = Deno.makeTempDirSync({ prefix: "denki-idmap-probe-" });
  const helper = new Deno.Command("unshare", { args: ["--user", "sleep", "30"] }).spawn();
  try {
    const mine = Deno.readLinkSync("/proc/self/ns/user");
    const path = `/proc/${helper.pid}/ns/user`;
    for (let i = 0; i < 200 && Deno.readLinkSync(path) === mine; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    // The kernel refuses a namespace without maps (EINVAL, like an unsupported file system).
    Deno.writeTextFileSync(`/proc/${helper.pid}/gid_map`, "0 1000 1\n");
    Deno.writeTextFileSync(`/proc/${helper.pid}/uid_map`, "0 1000 1\n");
    const ns = sc.open(path, sc.O_RDONLY | sc.O_CLOEXEC);
    try {
      const t = attempt("open_tree", sc.AT_FDCWD, cString(dir), 1 | sc.O_CLOEXEC);
      if (t.ret < 0n) return `open_tree fails here (errno ${t.errno})`;
      const attr = new BigUint64Array([0x100000n, 0n, 0n, BigInt(ns)]);
      const r = attempt(
        "mount_setattr",
        Number(t.ret),
        cString(""),
        sc.AT_EMPTY_PATH,
        new Uint8Array(attr.buffer),
        32,
      );
      sc.close(Number(t.ret));
      if (r.ret >= 0n) return undefined;
      if (r.errno === sc.Errno.ENOSYS) return "this kernel lacks mount_setattr";
      if (r.errno === sc.Errno.EINVAL) return "the temp directory's file system cannot be idmapped";
      return `mount_setattr(MOUNT_ATTR_IDMAP) fails here (errno ${r.errno})`;
    } finally {
      sc.close(ns);
    }
  } finally {
    helper.kill("SIGKILL");
    await helper.status;
    Deno.removeSync(dir, { recursive: true });
  }
}

const REQS = [...CONTAINER_REQS, await idmapSupport()];

function chownR(path: string, id: number): void {
  const out = new Deno.Command("chown", { args: ["-R", `${id}:${id}`, path] }).outputSync();
  if (!out.success) throw new Error(`chown ${path}: ${dec.decode(out.stderr)}`);
}

/** A host directory of the lab with one file, both owned by `owner`. */
function hostDir(lab: Lab, name: string, owner: number): string {
  const dir = `${lab.dir}/${name}`;
  Deno.mkdirSync(dir);
  Deno.writeTextFileSync(`${dir}/f`, "host file\n");
  chownR(dir, owner);
  return dir;
}

/** What the workload prints: the owner of each file, a file made through /data, a marker. */
const SCRIPT = [
  "stat -c 'data %u:%g' /data/f",
  "stat -c 'plain %u:%g' /plain/f",
  "[ -e /own/f ] && stat -c 'own %u:%g' /own/f",
  "ls -ln /data | grep ' f$' | awk '{print \"ls\", $3\":\"$4}'",
  "touch /data/made-inside && stat -c 'made %u:%g' /data/made-inside",
  "echo idmap-marker",
].join("; ");

function lines(stdout: string): string[] {
  return stdout.trim().split("\n").map((l) => l.trim());
}

testWith(
  "idmap: with a user namespace (0 -> 100000), 1000 on the host is 0 inside, both ways",
  REQS,
  () =>
    withLab(async (lab) => {
      // The namespace's root is "other" to the lab directory: it must let it pass.
      Deno.chmodSync(lab.dir, 0o755);
      const data = hostDir(lab, "data", OWNER);
      const own = hostDir(lab, "own", 0);
      const map = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];
      const mountMap = [{ containerID: OWNER, hostID: HOST_ROOT, size: 1 }];
      const b: Bundle = lab.bundle((c: Json) => {
        c.process.args = ["sh", "-c", SCRIPT];
        c.linux.namespaces.push({ type: "user" });
        c.linux.uidMappings = map;
        c.linux.gidMappings = map;
        c.mounts.push(
          {
            destination: "/data",
            type: "bind",
            source: data,
            options: ["bind", "idmap"],
            uidMappings: mountMap,
            gidMappings: mountMap,
          },
          { destination: "/plain", type: "bind", source: data, options: ["bind"] },
          // No maps of its own: the container's (host 0 on disk is host 100000, root inside).
          { destination: "/own", type: "bind", source: own, options: ["bind", "idmap"] },
        );
      });
      chownR(b.rootfs, HOST_ROOT);
      const r = await lab.denki(["run", "--bundle", b.dir, "idmap-userns"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout), [
        "data 0:0",
        // The same directory bound plainly: 1000 is no id of the namespace's (the overflow id).
        "plain 65534:65534",
        "own 0:0",
        "ls 0:0",
        "made 0:0",
        "idmap-marker",
      ]);
      const made = Deno.statSync(`${data}/made-inside`);
      assert.equal(made.uid, OWNER, "made through the idmapped mount: 1000's on the host");
      assert.equal(made.gid, OWNER);
      assert.deepEqual(hostMountsUnder(lab.dir), []);
    }),
);

testWith(
  "idmap: without a user namespace, 1000 on the host is 0 inside, both ways",
  REQS,
  () =>
    withLab(async (lab) => {
      const data = hostDir(lab, "data", OWNER);
      const mountMap = [{ containerID: OWNER, hostID: 0, size: 1 }];
      const b = lab.bundle((c: Json) => {
        c.process.args = ["sh", "-c", SCRIPT];
        c.mounts.push(
          {
            destination: "/data",
            type: "bind",
            source: data,
            options: ["rbind", "ridmap", "nosuid"],
            uidMappings: mountMap,
            gidMappings: mountMap,
          },
          { destination: "/plain", type: "bind", source: data, options: ["bind"] },
        );
      });
      const r = await lab.denki(["run", "--bundle", b.dir, "idmap-plain"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout), [
        "data 0:0",
        "plain 1000:1000",
        "ls 0:0",
        "made 0:0",
        "idmap-marker",
      ]);
      const made = Deno.statSync(`${data}/made-inside`);
      assert.equal(made.uid, OWNER);
      assert.equal(made.gid, OWNER);
      assert.deepEqual(hostMountsUnder(lab.dir), []);
    }),
);

testWith(
  "idmap: a file system that cannot be idmapped, and a mount that is not a bind, are refused in one line, leaving nothing",
  REQS,
  () =>
    withLab(async (lab) => {
      const cgroup = `denki-idmap-${Deno.pid}`;
      const map = [{ containerID: 0, hostID: 1000, size: 1 }];
      const proc = lab.bundle((c: Json) => {
        c.process.args = ["echo", "never-runs"];
        c.linux.cgroupsPath = `/${cgroup}`;
        c.mounts.push({
          destination: "/hostproc",
          type: "bind",
          source: "/proc",
          options: ["bind", "idmap"],
          uidMappings: map,
          gidMappings: map,
        });
      });
      const r = await lab.denki(["run", "--bundle", proc.dir, "idmap-proc"]);
      assert.notEqual(r.code, 0);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(
        r.stderr,
        /cannot idmap the mount of \\?"\/proc\\?": its file system \(proc\) does not support idmapped mounts/,
      );
      assert.doesNotMatch(r.stdout, /never-runs/);

      const tmpfs = lab.bundle((c: Json) => {
        c.process.args = ["echo", "never-runs"];
        c.linux.cgroupsPath = `/${cgroup}`;
        c.mounts.push({
          destination: "/t",
          type: "tmpfs",
          source: "tmpfs",
          options: ["idmap"],
          uidMappings: map,
          gidMappings: map,
        });
      });
      const t = await lab.denki(["run", "--bundle", tmpfs.dir, "idmap-tmpfs"]);
      assert.notEqual(t.code, 0);
      assert.equal(t.stderr.trim().split("\n").length, 1, t.stderr);
      assert.match(
        t.stderr,
        /mounts\[\d+\]: only bind mounts can be idmapped, not type \\?"tmpfs\\?"/,
      );

      assert.deepEqual(lab.containers(), []);
      assert.deepEqual(cgroupsNamed(cgroup), []);
      assert.deepEqual(hostMountsUnder(lab.dir), []);
    }),
);

testWith(
  "idmap: without maps of its own, in a joined user namespace, the namespace's maps apply",
  REQS,
  () =>
    withLab(async (lab) => {
      Deno.chmodSync(lab.dir, 0o755);
      const own = hostDir(lab, "own", 0);
      const map = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];
      const a = lab.bundle((c: Json) => {
        c.process.args = ["sleep", "100"];
        c.linux.namespaces.push({ type: "user" });
        c.linux.uidMappings = map;
        c.linux.gidMappings = map;
      });
      chownR(a.rootfs, HOST_ROOT);
      assert.equal((await lab.denki(["run", "-d", "--bundle", a.dir, "idmap-a"])).code, 0);
      const state = JSON.parse((await lab.denki(["state", "idmap-a"])).stdout);
      const b = lab.bundle((c: Json) => {
        c.process.args = ["sh", "-c", "stat -c 'own %u:%g' /own/f; echo joined-marker"];
        c.linux.namespaces.push({ type: "user", path: `/proc/${state.pid}/ns/user` });
        c.mounts.push({
          destination: "/own",
          type: "bind",
          source: own,
          options: ["bind", "idmap"],
        });
      });
      chownR(b.rootfs, HOST_ROOT);
      const r = await lab.denki(["run", "--bundle", b.dir, "idmap-b"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout), ["own 0:0", "joined-marker"]);
      assert.equal((await lab.denki(["delete", "--force", "idmap-a"])).code, 0);
    }),
);
