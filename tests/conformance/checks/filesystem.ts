/** The container's file system and names (config.md#root, #mounts, #hostname, #domainname). */
import assert from "node:assert/strict";
import { type Check, firstLine, freshId, withScratch } from "../runtime.ts";

/** Fields of /proc/self/mountinfo lines whose mount point is `point`: [options, fstype, super]. */
function mountLine(mountinfo: string, point: string): string[] | undefined {
  for (const line of mountinfo.split("\n")) {
    const f = line.split(" ");
    if (f[4] !== point) continue;
    const dash = f.indexOf("-");
    return [f[5]!, f[dash + 1]!, f[dash + 3]!];
  }
  return undefined;
}

/** Checks of root, mounts, hostname and domainname. */
export const filesystemChecks: Check[] = [
  {
    id: "root.path.relative",
    section: "config.md#root",
    requirement: "a relative root.path is taken from the bundle directory, not the caller's cwd",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const b = s.bundle((c) => {
          c.process.args = ["cat", "/marker"];
          c.root.path = "rootfs";
        });
        Deno.writeTextFileSync(`${b.rootfs}/marker`, "this bundle\n");
        const r = await rt.run(["run", "--bundle", b.dir, freshId()], { cwd: "/" });
        assert.equal(r.code, 0, firstLine(r.stderr));
        assert.equal(r.stdout, "this bundle\n");
      }),
  },
  {
    id: "root.path.absolute",
    section: "config.md#root",
    requirement: "an absolute root.path may point outside the bundle",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const elsewhere = s.bundle();
        Deno.writeTextFileSync(`${elsewhere.rootfs}/marker`, "elsewhere\n");
        const out = await s.sh("cat /marker", (c) => (c.root.path = elsewhere.rootfs));
        assert.equal(out, "elsewhere\n");
      }),
  },
  {
    id: "root.readonly",
    section: "config.md#root",
    requirement: "root.readonly true makes the root file system read-only",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh("touch /x 2>/dev/null && echo writable || echo readonly", (c) => {
          c.root.readonly = true;
        });
        assert.equal(out, "readonly\n");
      }),
  },
  {
    id: "root.readwrite",
    section: "config.md#root",
    requirement: "root.readonly false leaves the root writable, with writes landing in root.path",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const b = s.bundle((c) => {
          c.process.args = ["sh", "-c", "echo written > /x"];
          c.root.readonly = false;
        });
        const r = await rt.run(["run", "--bundle", b.dir, freshId()]);
        assert.equal(r.code, 0, firstLine(r.stderr));
        assert.equal(Deno.readTextFileSync(`${b.rootfs}/x`), "written\n");
      }),
  },
  {
    id: "mounts.tmpfs",
    section: "config.md#mounts",
    requirement: "a tmpfs mount appears at its destination with its type and data options",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh("touch /scratch/f && cat /proc/self/mountinfo", (c) => {
          c.mounts.push({
            destination: "/scratch",
            type: "tmpfs",
            source: "tmpfs",
            options: ["size=1m", "mode=750"],
          });
        });
        const m = mountLine(out, "/scratch");
        assert.ok(m, "no mount at /scratch");
        assert.equal(m[1], "tmpfs");
        assert.match(m[2]!, /size=1024k/);
        assert.match(m[2]!, /mode=750/);
      }),
  },
  {
    id: "mounts.options.flags",
    section: "config.md#mounts",
    requirement: "mount flags (noexec, nosuid, nodev) apply: a binary copied there cannot run",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const script = "cp /bin/busybox /nx/bb && (/nx/bb true 2>/dev/null && echo ran || " +
          "echo refused); cat /proc/self/mountinfo";
        const out = await s.sh(script, (c) => {
          c.mounts.push({
            destination: "/nx",
            type: "tmpfs",
            source: "tmpfs",
            options: ["noexec", "nosuid", "nodev"],
          });
        });
        assert.match(out, /^refused$/m, "ran a binary from a noexec mount");
        const m = mountLine(out, "/nx");
        assert.ok(m, "no mount at /nx");
        for (const flag of ["noexec", "nosuid", "nodev"]) {
          assert.ok(m[0]!.split(",").includes(flag), `${flag} missing from ${m[0]}`);
        }
      }),
  },
  {
    id: "mounts.bind.ro",
    section: "config.md#mounts",
    requirement: "a read-only bind mount shows the host directory and refuses writes",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const host = `${s.dir}/host`;
        Deno.mkdirSync(host);
        Deno.writeTextFileSync(`${host}/file`, "from the host\n");
        const out = await s.sh(
          "cat /data/file; touch /data/new 2>/dev/null && echo rw || echo ro",
          (c) => {
            c.mounts.push({
              destination: "/data",
              type: "bind",
              source: host,
              options: ["rbind", "ro"],
            });
          },
        );
        assert.equal(out, "from the host\nro\n");
      }),
  },
  {
    id: "mounts.bind.rw-file",
    section: "config.md#mounts",
    requirement: "a bind mount of a single file onto a new path is writable through to the host",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const file = `${s.dir}/file.txt`;
        Deno.writeTextFileSync(file, "before\n");
        const out = await s.sh("cat /etc/conf.txt; echo after > /etc/conf.txt", (c) => {
          c.mounts.push({
            destination: "/etc/conf.txt",
            type: "bind",
            source: file,
            options: ["bind"],
          });
        });
        assert.equal(out, "before\n");
        assert.equal(Deno.readTextFileSync(file), "after\n");
      }),
  },
  {
    id: "mounts.order",
    section: "config.md#mounts",
    requirement: "mounts are made in the listed order (a later mount may nest in an earlier one)",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh("awk '{print $5}' /proc/self/mountinfo; ls /a", (c) => {
          c.mounts.push(
            { destination: "/a", type: "tmpfs", source: "tmpfs" },
            { destination: "/a/b", type: "tmpfs", source: "tmpfs" },
          );
        });
        const points = out.split("\n");
        const a = points.indexOf("/a");
        const ab = points.indexOf("/a/b");
        assert.ok(a >= 0 && ab > a, "/a/b is not mounted after (on top of) /a");
        assert.equal(points.at(-2), "b", "/a/b is not visible in /a");
      }),
  },
  {
    id: "mounts.destination.created",
    section: "config.md#mounts",
    requirement: "a mount destination missing from the rootfs is created, parents included",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh(
          "awk '{print $5}' /proc/self/mountinfo | grep -x /deep/er/dir",
          (c) => {
            c.mounts.push({ destination: "/deep/er/dir", type: "tmpfs", source: "tmpfs" });
          },
        );
        assert.equal(out, "/deep/er/dir\n");
      }),
  },
  {
    id: "hostname",
    section: "config.md#hostname",
    requirement: "hostname sets the container's host name (in its own UTS namespace)",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const host = Deno.hostname();
        const out = await s.sh("hostname", (c) => (c.hostname = "conformance-box"));
        assert.equal(out, "conformance-box\n");
        assert.equal(Deno.hostname(), host, "the host's name changed");
      }),
  },
  {
    id: "domainname",
    section: "config.md#domainname",
    requirement: "domainname sets the container's NIS domain name",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh(
          "cat /proc/sys/kernel/domainname",
          (c) => (c.domainname = "conformance.test"),
        );
        assert.equal(out, "conformance.test\n");
      }),
  },
];
