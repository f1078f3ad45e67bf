/** Linux-specific configuration (config-linux.md): namespaces, devices, sysctl, paths, seccomp. */
import assert from "node:assert/strict";
import { type Check, exists, freshId, hostNs, type Json, withScratch } from "../runtime.ts";

const KINDS: Record<string, string> = {
  pid: "pid",
  network: "net",
  ipc: "ipc",
  uts: "uts",
  mount: "mnt",
  cgroup: "cgroup",
};

const nsScript = Object.values(KINDS).map((k) => `readlink /proc/self/ns/${k}`).join("; ");

/** The namespace links the container printed, by config type; each must be a real link. */
function links(out: string): Record<string, string> {
  const lines = out.trim().split("\n");
  return Object.fromEntries(
    Object.entries(KINDS).map(([t, kind], i) => {
      const link = lines[i] ?? "";
      assert.match(link, new RegExp(`^${kind}:\\[\\d+\\]$`), `the program's ${kind} namespace`);
      return [t, link];
    }),
  );
}

/** Checks of linux.* fields other than resources. */
export const linuxChecks: Check[] = [
  {
    id: "linux.namespaces.pid",
    section: "config-linux.md#namespaces",
    requirement: "with a new pid namespace the program is pid 1 and sees only its own processes",
    run: (rt) =>
      withScratch(rt, async (s) => {
        // A glob, not ls: the shell must be the only process there is.
        const out = await s.sh("echo $$; echo /proc/[0-9]*");
        assert.equal(out, "1\n/proc/1\n");
      }),
  },
  {
    id: "linux.namespaces.new",
    section: "config-linux.md#namespaces",
    requirement: "each listed namespace type without a path is a new namespace",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const got = links(await s.sh(nsScript));
        for (const [type, kind] of Object.entries(KINDS)) {
          assert.notEqual(got[type], hostNs(kind), `${type} is the host's`);
        }
      }),
  },
  {
    id: "linux.namespaces.inherited",
    section: "config-linux.md#namespaces",
    requirement: "a namespace type that is not listed is shared with the runtime",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const kept = ["mount", "pid"];
        const got = links(
          await s.sh(nsScript, (c) => {
            c.linux.namespaces = c.linux.namespaces.filter((n: Json) => kept.includes(n.type));
            // A host name needs its own UTS namespace; a fresh sysfs its own network one.
            delete c.hostname;
            c.mounts = c.mounts.filter((m: Json) => !m.destination.startsWith("/sys"));
          }),
        );
        for (const [type, kind] of Object.entries(KINDS)) {
          if (kept.includes(type)) assert.notEqual(got[type], hostNs(kind), `${type} is shared`);
          else assert.equal(got[type], hostNs(kind), `${type} is not the host's`);
        }
      }),
  },
  {
    id: "linux.namespaces.path",
    section: "config-linux.md#namespaces",
    requirement: "a namespace with a path joins that namespace instead of making one",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const holder = await s.detached((c) => (c.process.args = ["sleep", "30"]));
        const pid = (await s.state(holder.id)).pid;
        const net = Deno.readLinkSync(`/proc/${pid}/ns/net`);
        const uts = Deno.readLinkSync(`/proc/${pid}/ns/uts`);
        const got = links(
          await s.sh(nsScript, (c) => {
            c.linux.namespaces = c.linux.namespaces.map((n: Json) =>
              n.type === "network" ? { type: "network", path: `/proc/${pid}/ns/net` } : n
            );
          }),
        );
        assert.equal(got.network, net, "did not join the holder's network namespace");
        assert.notEqual(got.uts, uts, "a uts namespace without a path was joined too");
      }),
  },
  {
    id: "linux.namespaces.network.empty",
    section: "config-linux.md#namespaces",
    requirement: "a new network namespace has only the loopback interface",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh("ls /sys/class/net");
        assert.equal(out, "lo\n");
      }),
  },
  {
    id: "linux.timeOffsets",
    section: "config-linux.md#offset-for-time-namespace",
    requirement: "a time namespace gets the configured monotonic and boottime offsets",
    needs: () => exists("/proc/self/ns/time") ? undefined : "the kernel has no time namespaces",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh("cat /proc/self/timens_offsets", (c) => {
          c.linux.namespaces.push({ type: "time" });
          c.linux.timeOffsets = { monotonic: { secs: 86400, nanosecs: 0 }, boottime: { secs: 7 } };
        });
        assert.match(out, /monotonic\s+86400\s+0/);
        assert.match(out, /boottime\s+7\s+0/);
      }),
  },
  {
    id: "linux.sysctl",
    section: "config-linux.md#sysctl",
    requirement: "linux.sysctl values are set inside the container and not on the host",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const host = Deno.readTextFileSync("/proc/sys/kernel/shmmni");
        const out = await s.sh(
          "cat /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_forward",
          (c) => (c.linux.sysctl = { "kernel.shmmni": "1234", "net.ipv4.ip_forward": "1" }),
        );
        assert.equal(out, "1234\n1\n");
        assert.equal(Deno.readTextFileSync("/proc/sys/kernel/shmmni"), host, "the host changed");
      }),
  },
  {
    id: "linux.maskedPaths",
    section: "config-linux.md#masked-paths",
    requirement: "masked files read empty and masked directories look empty",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const b = s.bundle((c) => {
          c.process.args = ["sh", "-c", "cat /etc/secret.txt; ls /opt/secret; echo end"];
          c.linux.maskedPaths = [...c.linux.maskedPaths, "/etc/secret.txt", "/opt/secret"];
        });
        Deno.writeTextFileSync(`${b.rootfs}/etc/secret.txt`, "file secret\n");
        Deno.mkdirSync(`${b.rootfs}/opt/secret`, { recursive: true });
        Deno.writeTextFileSync(`${b.rootfs}/opt/secret/key`, "dir secret\n");
        const r = await rt.run(["run", "--bundle", b.dir, freshId()]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "end\n");
      }),
  },
  {
    id: "linux.readonlyPaths",
    section: "config-linux.md#readonly-paths",
    requirement: "readonly paths refuse writes while the rest of a writable root accepts them",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const script = "for p in /locked/f /open/f; do touch $p 2>/dev/null && echo $p rw || " +
          "echo $p ro; done; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo sys ro";
        const b = s.bundle((c) => {
          c.process.args = ["sh", "-c", script];
          c.root.readonly = false;
          c.linux.readonlyPaths = [...c.linux.readonlyPaths, "/locked"];
        });
        Deno.mkdirSync(`${b.rootfs}/locked`);
        Deno.mkdirSync(`${b.rootfs}/open`);
        const r = await rt.run(["run", "--bundle", b.dir, freshId()]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "/locked/f ro\n/open/f rw\nsys ro\n");
      }),
  },
  {
    id: "linux.devices",
    section: "config-linux.md#devices",
    requirement: "linux.devices nodes exist with their type, numbers, mode and owner",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh("stat -c '%n %F %t:%T %a %u:%g' /dev/fuse /dev/myfifo", (c) => {
          c.linux.devices = [
            {
              type: "c",
              path: "/dev/fuse",
              major: 10,
              minor: 229,
              fileMode: 0o640,
              uid: 7,
              gid: 8,
            },
            { type: "p", path: "/dev/myfifo", fileMode: 0o600, uid: 0, gid: 0 },
          ];
        });
        assert.equal(
          out,
          "/dev/fuse character special file a:e5 640 7:8\n/dev/myfifo fifo 0:0 600 0:0\n",
        );
      }),
  },
  {
    id: "linux.devices.default",
    section: "config-linux.md#default-devices",
    requirement: "the default devices (null, zero, full, random, urandom, tty, ptmx) are there",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh(
          "for d in null zero full random urandom tty; do stat -c '%n %t:%T' /dev/$d; done; " +
            "readlink /dev/ptmx; echo x > /dev/null && head -c 3 /dev/zero | wc -c",
          (c) => (c.linux.devices = []),
        );
        assert.equal(
          out,
          [
            "/dev/null 1:3",
            "/dev/zero 1:5",
            "/dev/full 1:7",
            "/dev/random 1:8",
            "/dev/urandom 1:9",
            "/dev/tty 5:0",
            "pts/ptmx",
            "3",
            "",
          ].join("\n"),
        );
      }),
  },
  {
    id: "linux.seccomp",
    section: "config-linux.md#seccomp",
    requirement: "a seccomp rule with SCMP_ACT_ERRNO makes its syscalls fail with errnoRet",
    run: (rt) =>
      withScratch(rt, async (s) => {
        const out = await s.sh("mkdir /dev/shm/d 2>&1; touch /dev/shm/f && echo touched", (c) => {
          c.linux.seccomp = {
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
          };
        });
        assert.match(out, /Permission denied/, "mkdir was not refused with EACCES");
        assert.match(out, /^touched$/m, "other syscalls were refused too");
      }),
  },
];
