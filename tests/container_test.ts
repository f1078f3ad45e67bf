/** What a container gets, each item checked from inside the container. */
import assert from "node:assert/strict";
import { CONTAINER_REQS, type Json, type Lab, withLab } from "./support/container.ts";
import { type Requirement, testWith } from "./support/requires.ts";

const T = (name: string, fn: () => Promise<void>, reqs: Requirement[] = []) =>
  testWith(`container: ${name}`, [...CONTAINER_REQS, ...reqs], fn);

/** Runs a shell script in a container made from the base config plus `patch`; returns stdout. */
async function sh(lab: Lab, script: string, patch: (c: Json) => void = () => {}): Promise<string> {
  const r = await lab.runIn(["sh", "-c", script], patch, `c${Math.floor(Math.random() * 1e9)}`);
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function hostNs(kind: string): string {
  return Deno.readLinkSync(`/proc/self/ns/${kind}`);
}

T("namespaces: its own pid, mount, uts, ipc, network, cgroup", () =>
  withLab(async (lab) => {
    const out = await sh(
      lab,
      "echo $$; for n in mnt uts ipc net cgroup pid; do readlink /proc/self/ns/$n; done",
    );
    const [pid, ...links] = out.trim().split("\n");
    assert.equal(pid, "1");
    const kinds = ["mnt", "uts", "ipc", "net", "cgroup", "pid"];
    kinds.forEach((k, i) => assert.notEqual(links[i], hostNs(k), `${k} namespace is the host's`));
  }));

T("namespaces: time namespace with offsets", () =>
  withLab(async (lab) => {
    const out = await sh(lab, "readlink /proc/self/ns/time; cat /proc/self/timens_offsets", (c) => {
      c.linux.namespaces.push({ type: "time" });
      c.linux.timeOffsets = { monotonic: { secs: 86400, nanosecs: 0 }, boottime: { secs: 7 } };
    });
    const [link, ...offsets] = out.trim().split("\n");
    assert.match(link!, /^time:\[\d+\]$/);
    assert.notEqual(link, hostNs("time"));
    assert.match(offsets.join("\n"), /monotonic\s+86400\s+0/);
    assert.match(offsets.join("\n"), /boottime\s+7\s+0/);
  }), [hostNsExists("time") ? undefined : "the kernel has no time namespaces"]);

function hostNsExists(kind: string): boolean {
  try {
    Deno.readLinkSync(`/proc/self/ns/${kind}`);
    return true;
  } catch {
    return false;
  }
}

T("namespaces: joining one by path", () =>
  withLab(async (lab) => {
    const b = lab.bundle((c) => (c.process.args = ["sleep", "30"]));
    assert.equal((await lab.denki(["run", "-d", "--bundle", b.dir, "holder"])).code, 0);
    const pid = JSON.parse((await lab.denki(["state", "holder"])).stdout).pid;
    const want = Deno.readLinkSync(`/proc/${pid}/ns/net`);
    const uts = Deno.readLinkSync(`/proc/${pid}/ns/uts`);
    const out = await sh(lab, "readlink /proc/self/ns/net; readlink /proc/self/ns/uts", (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: Json) =>
        n.type === "network" ? { type: "network", path: `/proc/${pid}/ns/net` } : n
      );
    });
    const [net, ownUts] = out.trim().split("\n");
    assert.equal(net, want, "joined the holder's network namespace");
    assert.notEqual(ownUts, uts, "but has its own uts namespace");
  }));

T(
  "root: relative or absolute root.path, read-only root, old root detached",
  () =>
    withLab(async (lab) => {
      const out = await sh(
        lab,
        "touch /x 2>/dev/null && echo writable || echo readonly; awk '{print $5}' /proc/self/mountinfo",
      );
      const [rw, ...points] = out.trim().split("\n");
      assert.equal(rw, "readonly");
      assert.equal(points.filter((p) => p === "/").length, 1, "one root mount");
      for (const p of points) {
        assert.match(p, /^\/(proc|dev|sys)(\/|$)|^\/$/, `${p}: only the container's own mounts`);
      }
      const other = lab.bundle();
      const abs = await sh(lab, "touch /x && echo writable", (c) => {
        c.root = { path: other.rootfs, readonly: false };
      });
      assert.equal(abs, "writable\n");
      assert.ok(Deno.statSync(`${other.rootfs}/x`).isFile, "root.path may be absolute");
    }),
);

T("root: --no-pivot (MS_MOVE + chroot) and rootfsPropagation", () =>
  withLab(async (lab) => {
    const b = lab.bundle((c) => {
      c.process.args = ["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"];
      c.linux.rootfsPropagation = "shared";
    });
    const r = await lab.denki(["run", "--no-pivot", "--bundle", b.dir, "np"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, / shared:\d+/, "the root mount is shared");
    const priv = await sh(
      lab,
      "awk '$5 == \"/\"' /proc/self/mountinfo",
      (c) => (c.linux.rootfsPropagation = "private"),
    );
    assert.doesNotMatch(priv, /shared:|master:/);
  }));

T(
  "mounts: in order, with flags, data, binds of files and dirs, new destinations",
  () =>
    withLab(async (lab) => {
      const host = `${lab.dir}/hostdir`;
      Deno.mkdirSync(host);
      Deno.writeTextFileSync(`${host}/file.txt`, "host file\n");
      const out = await sh(
        lab,
        "cat /data/file.txt; cat /etc/single; touch /data/new 2>/dev/null || echo data-ro; " +
          "grep -E ' /(data|scratch|deep/er/dir|shared|unbind) ' /proc/self/mountinfo; echo; ls -d /deep/er/dir",
        (c) => {
          c.mounts.push(
            {
              destination: "/data",
              type: "bind",
              source: host,
              options: ["rbind", "ro", "nosuid", "nodev"],
            },
            { destination: "/etc/single", source: `${host}/file.txt`, options: ["bind", "ro"] },
            {
              destination: "/scratch",
              type: "tmpfs",
              source: "tmpfs",
              options: ["noexec", "size=1m", "mode=700"],
            },
            { destination: "/deep/er/dir", type: "tmpfs", source: "tmpfs", options: ["noatime"] },
            { destination: "/shared", type: "tmpfs", source: "tmpfs", options: ["rshared"] },
            { destination: "/unbind", type: "tmpfs", source: "tmpfs", options: ["unbindable"] },
          );
        },
      );
      const lines = out.split("\n");
      assert.equal(lines[0], "host file");
      assert.equal(lines[1], "host file", "a file bind-mounted on a new file");
      assert.equal(lines[2], "data-ro");
      assert.match(out, / \/data ro,nosuid,nodev,/);
      assert.match(out, / \/scratch rw,noexec,relatime .* tmpfs tmpfs rw,size=1024k,mode=700/);
      assert.match(out, / \/deep\/er\/dir rw,noatime /);
      assert.match(out, /\n\/deep\/er\/dir\n/);
      assert.match(out, / \/shared rw,relatime shared:\d+ /, "propagation options apply");
      assert.match(out, / \/unbind rw,relatime unbindable /);
    }),
);

T("mounts: proc, sysfs, devpts, mqueue, cgroup are mounted", () =>
  withLab(async (lab) => {
    // mountinfo: mount point is field 5; the type is the first field after " - ".
    const out = await sh(
      lab,
      "sed -e 's/^\\([^ ]* \\)\\{4\\}\\([^ ]*\\).* - \\([^ ]*\\).*/\\2 \\3/' /proc/self/mountinfo",
    );
    for (
      const [dest, type] of [["/proc", "proc"], ["/sys", "sysfs"], ["/dev/pts", "devpts"], [
        "/dev/mqueue",
        "mqueue",
      ], ["/dev/shm", "tmpfs"]]
    ) {
      assert.match(out, new RegExp(`^${dest} ${type}$`, "m"), `${dest} ${type}`);
    }
    assert.match(out, /^\/sys\/fs\/cgroup\S* cgroup2?$/m);
  }));

T("mounts: a rootfs symlink cannot redirect a mount onto the host", () =>
  withLab(async (lab) => {
    const victim = `${lab.dir}/victim`;
    Deno.mkdirSync(victim);
    const b = lab.bundle((c) => {
      c.process.args = ["sh", "-c", "ls /etc/target; readlink /data"];
      c.root.readonly = false;
      c.mounts.push(
        { destination: "/etc/target", type: "tmpfs", source: "tmpfs" },
        { destination: "/data/sub", type: "tmpfs", source: "tmpfs" },
      );
    });
    // The image plants links that point at a host directory.
    Deno.removeSync(`${b.rootfs}/etc`, { recursive: true });
    Deno.symlinkSync(victim, `${b.rootfs}/etc`);
    Deno.symlinkSync(`${victim}/dangling`, `${b.rootfs}/data`);
    const r = await lab.denki(["run", "--bundle", b.dir, "attack"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      [...Deno.readDirSync(victim)],
      [],
      "nothing was created or mounted on the host",
    );
    assert.ok(
      Deno.statSync(`${b.rootfs}${victim}/target`).isDirectory,
      "the mount landed inside the rootfs",
    );
    assert.ok(Deno.statSync(`${b.rootfs}${victim}/dangling/sub`).isDirectory);
  }));

T("/dev: default devices, links, pts, shm, mqueue and linux.devices", () =>
  withLab(async (lab) => {
    const out = await sh(
      lab,
      "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; " +
        "for l in fd stdin stdout stderr ptmx; do echo $l $(readlink /dev/$l); done; " +
        "stat -c '%n %F %t:%T %a %u:%g' /dev/fuse /dev/myfifo; echo hi > /dev/null && echo null-ok",
      (c) => {
        c.linux.devices = [
          { type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o640, uid: 7, gid: 8 },
          { type: "p", path: "/dev/myfifo", fileMode: 0o600 },
        ];
      },
    );
    for (
      const [name, dev] of [["null", "1:3"], ["zero", "1:5"], ["full", "1:7"], ["random", "1:8"], [
        "urandom",
        "1:9",
      ], ["tty", "5:0"]]
    ) {
      assert.match(out, new RegExp(`^/dev/${name} character special file ${dev} 666$`, "m"), name);
    }
    assert.match(out, /^fd \/proc\/self\/fd$/m);
    assert.match(out, /^stdin \/proc\/self\/fd\/0$/m);
    assert.match(out, /^stderr \/proc\/self\/fd\/2$/m);
    assert.match(out, /^ptmx pts\/ptmx$/m);
    assert.match(out, /^\/dev\/fuse character special file a:e5 640 7:8$/m);
    assert.match(out, /^\/dev\/myfifo fifo 0:0 600 0:0$/m);
    assert.match(out, /^null-ok$/m);
  }));

T(
  "masked and read-only paths, hostname, domainname, sysctl, oomScoreAdj",
  () =>
    withLab(async (lab) => {
      const out = await sh(
        lab,
        "cat /proc/keys | wc -c; ls /proc/acpi | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo sys-ro; " +
          "hostname; cat /proc/sys/kernel/domainname; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni; cat /proc/self/oom_score_adj",
        (c) => {
          c.hostname = "box1";
          c.domainname = "example.test";
          c.linux.sysctl = { "net.ipv4.ip_forward": "1", "kernel.shmmni": "1234" };
          c.process.oomScoreAdj = 123;
        },
      );
      assert.equal(out, "0\n0\nsys-ro\nbox1\nexample.test\n1\n1234\n123\n");
    }),
);

T("process: user, groups, umask, cwd, rlimits", () =>
  withLab(async (lab) => {
    const out = await sh(
      lab,
      "id -u; id -g; id -G; umask; pwd; ulimit -n; ulimit -Hn; touch f; stat -c %a f",
      (c) => {
        c.root.readonly = false;
        c.process.user = { uid: 1000, gid: 1001, additionalGids: [1002, 1003], umask: 0o027 };
        c.process.cwd = "/work/dir";
        c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 321, hard: 654 }];
        c.mounts.push({
          destination: "/work/dir",
          type: "tmpfs",
          source: "tmpfs",
          options: ["mode=777"],
        });
      },
    );
    assert.equal(out, "1000\n1001\n1001 1002 1003\n0027\n/work/dir\n321\n654\n640\n");
  }));

T("process: the five capability sets and no_new_privs", () =>
  withLab(async (lab) => {
    const out = await sh(lab, "grep -E '^(Cap|NoNewPrivs)' /proc/self/status", (c) => {
      c.process.capabilities = {
        bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        effective: ["CAP_CHOWN", "CAP_KILL"],
        permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        inheritable: ["CAP_KILL"],
        ambient: ["CAP_KILL"],
      };
      c.process.noNewPrivileges = true;
    });
    // CHOWN=0, KILL=5, NET_RAW=13 (root keeps its permitted set across exec).
    assert.match(out, /CapInh:\t0000000000000020/);
    assert.match(out, /CapPrm:\t0000000000002021/);
    assert.match(out, /CapEff:\t0000000000002021/);
    assert.match(out, /CapBnd:\t0000000000002021/);
    assert.match(out, /CapAmb:\t0000000000000020/);
    assert.match(out, /NoNewPrivs:\t1/);
    const user = await sh(lab, "grep -E '^Cap(Eff|Amb)' /proc/self/status", (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.capabilities = {
        bounding: ["CAP_KILL"],
        permitted: ["CAP_KILL"],
        inheritable: ["CAP_KILL"],
        ambient: ["CAP_KILL"],
        effective: ["CAP_KILL"],
      };
    });
    assert.match(user, /CapEff:\t0000000000000020/, "a non-root user keeps ambient capabilities");
    assert.match(user, /CapAmb:\t0000000000000020/);
  }));

T("hygiene: signals default and unblocked, only stdio open", () =>
  withLab(async (lab) => {
    const out = await sh(
      lab,
      "grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd | wc -l",
    );
    // SigIgn/SigBlk of the shell itself: nothing inherited from denki.
    assert.match(out, /SigBlk:\t0000000000000000/);
    assert.match(out, /SigIgn:\t0000000000000000/);
    assert.equal(out.trim().split("\n")[2], "4", "0, 1, 2 and ls's own directory");
  }));

T(
  "hooks: each kind, its moment, namespace, state on stdin, args, env",
  () =>
    withLab(async (lab) => {
      const log = `${lab.dir}/hooks.log`;
      Deno.writeTextFileSync(log, "");
      // Runtime-namespace hooks see the host's mount table; container ones see the rootfs.
      const record = (kind: string) => ({
        path: "/bin/sh",
        args: [
          "sh",
          "-c",
          `read -r s; echo "${kind} $1 $GREETING $(readlink /proc/self/ns/mnt) $s" >> ${log}`,
          "hook",
          "arg1",
        ],
        env: ["GREETING=hi"],
        timeout: 5,
      });
      const b = lab.bundle((c) => {
        c.process.args = ["true"];
        c.hooks = {};
        for (
          const kind of ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
        ) {
          c.hooks[kind] = [record(kind)];
        }
        // startContainer's path is resolved inside the container: write where the host can look.
        c.hooks.startContainer = [{
          path: "/bin/sh",
          args: ["sh", "-c", "cat > /hooklog/start.json"],
        }];
        c.root.readonly = false;
        c.mounts.push({
          destination: "/hooklog",
          type: "bind",
          source: lab.dir,
          options: ["bind"],
        });
        c.annotations = { "org.example.key": "value" };
      });
      const r = await lab.denki(["run", "--bundle", b.dir, "hooked"]);
      assert.equal(r.code, 0, r.stderr);
      const lines = Deno.readTextFileSync(log).trim().split("\n");
      assert.deepEqual(lines.map((l) => l.split(" ")[0]), [
        "prestart",
        "createRuntime",
        "createContainer",
        "poststart",
        "poststop",
      ]);
      const hostMnt = hostNs("mnt");
      for (const line of lines) {
        const [kind, arg, greeting, mnt, ...json] = line.split(" ");
        assert.equal(arg, "arg1", kind);
        assert.equal(greeting, "hi", kind);
        const state = JSON.parse(json.join(" "));
        assert.equal(state.id, "hooked");
        assert.equal(state.bundle, b.dir);
        assert.deepEqual(state.annotations, { "org.example.key": "value" });
        const inContainer = kind === "createContainer";
        assert.equal(
          mnt === hostMnt,
          !inContainer,
          `${kind} runs in the ${inContainer ? "container" : "runtime"} mount namespace`,
        );
        const status = {
          prestart: "creating",
          createRuntime: "creating",
          createContainer: "creating",
          poststart: "running",
          poststop: "stopped",
        }[kind!];
        assert.equal(state.status, status, kind);
        if (kind === "createContainer") assert.equal(state.pid, 1, "pid as the container sees it");
      }
      const start = JSON.parse(Deno.readTextFileSync(`${lab.dir}/start.json`));
      assert.equal(start.status, "created");
    }),
);

T(
  "hooks: a failing startContainer hook fails start; poststart/poststop failures are warnings",
  () =>
    withLab(async (lab) => {
      const bad = lab.bundle((c) => {
        c.process.args = ["true"];
        c.hooks = { startContainer: [{ path: "/bin/false" }] };
      });
      assert.equal((await lab.denki(["create", "--bundle", bad.dir, "s1"])).code, 0);
      const start = await lab.denki(["start", "s1"]);
      assert.equal(start.code, 1);
      assert.match(start.stderr, /startContainer hook \/bin\/false failed: exit status 1/);
      const warn = lab.bundle((c) => {
        c.process.args = ["sh", "-c", "echo ran"];
        c.hooks = {
          poststart: [{ path: "/bin/false" }],
          poststop: [{ path: "/bin/sh", args: ["sh", "-c", "sleep 5"], timeout: 1 }],
        };
      });
      const r = await lab.denki(["run", "--bundle", warn.dir, "w1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ran$/m);
      assert.match(
        r.stderr,
        /level=warning msg="poststart hook \/bin\/false failed: exit status 1"/,
      );
      assert.match(r.stderr, /level=warning msg="poststop hook \/bin\/sh: timed out after 1s"/);
    }),
);

T(
  "keyring: a new session keyring per container unless --no-new-keyring",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((c) => {
        c.process.args = ["sh", "-c", "grep -c '_ses.k' /proc/keys || true"];
        c.linux.maskedPaths = [];
      });
      const own = await lab.denki(["run", "--bundle", b.dir, "k1"]);
      assert.equal(own.stdout.trim(), "1", own.stderr);
      const shared = await lab.denki(["run", "--no-new-keyring", "--bundle", b.dir, "k2"]);
      assert.equal(shared.stdout.trim(), "0", shared.stderr);
    }),
);

T(
  "security: the device cgroup stops image nodes and new nodes of denied devices",
  () =>
    withLab(async (lab) => {
      // /dev/net/tun's numbers (10:200; opening it needs no capability) are outside what
      // every container may use: with the default deny-all rules, a node for it shipped in
      // the image or made with mknod (allowed, as under runc: "c *:* m") must not open;
      // /dev/null still does.
      const script = "grep CapEff /proc/self/status; " +
        "(: < /imagetun) 2>/dev/null && echo opened || echo refused; " +
        "mknod /tmp/x c 10 200 2>/dev/null && echo made || echo no-mknod; " +
        "(: < /tmp/x) 2>/dev/null && echo made-opened || echo made-refused; " +
        "echo > /dev/null && echo null-ok";
      const withMknod = (c: Json) => {
        c.process.args = ["sh", "-c", script];
        c.process.capabilities.bounding.push("CAP_MKNOD");
        c.process.capabilities.effective.push("CAP_MKNOD");
        c.process.capabilities.permitted.push("CAP_MKNOD");
        c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
      };
      const b = lab.bundle(withMknod);
      new Deno.Command("mknod", { args: [`${b.rootfs}/imagetun`, "c", "10", "200"] }).outputSync();
      const r = await lab.denki(["run", "--bundle", b.dir, "dev1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /CapEff:\t0000000028000420\n/, "CAP_MKNOD (27) kept");
      assert.match(r.stdout, /^refused$/m);
      assert.match(r.stdout, /^made$/m);
      assert.match(r.stdout, /^made-refused$/m);
      assert.match(r.stdout, /^null-ok$/m);
      // A config that allows every device (a privileged container) opens them.
      const open = lab.bundle((c) => {
        withMknod(c);
        c.linux.resources.devices = [{ allow: true, access: "rwm" }];
      });
      new Deno.Command("mknod", { args: [`${open.rootfs}/imagetun`, "c", "10", "200"] })
        .outputSync();
      const p = await lab.denki(["run", "--bundle", open.dir, "dev2"]);
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stdout, /^opened$/m);
      assert.match(p.stdout, /^made-opened$/m);
    }),
);

T(
  "security: AppArmor, which cannot be applied, is refused",
  () =>
    withLab(async (lab) => {
      const aa = lab.bundle((c) => (c.process.apparmorProfile = "docker-default"));
      const r2 = await lab.denki(["create", "--bundle", aa.dir, "s2"]);
      assert.equal(r2.code, 1);
      assert.match(r2.stderr, /AppArmor is not supported/);
      assert.deepEqual(lab.containers(), []);
    }),
);

T(
  "process: its own session, umask 022 unless configured, whatever the caller's",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((
        c,
      ) => (c.process.args = ["sh", "-c", "cut -d' ' -f6 /proc/1/stat; umask"]));
      const launcher = new URL("../bin/denki", import.meta.url).pathname;
      const out = await new Deno.Command("/bin/sh", {
        args: ["-c", `umask 077; exec ${launcher} --root ${lab.root} run --bundle ${b.dir} u1`],
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", DENKI_DENO: Deno.execPath() },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(
        new TextDecoder().decode(out.stdout),
        "1\n0022\n",
        "session of pid 1 is its own; umask 022",
      );
    }),
);

T(
  "mounts: tmpcopyup fills a tmpfs with what the directory held, modes, owners and links kept",
  () =>
    withLab(async (lab) => {
      const b = lab.bundle((c) => {
        c.root.readonly = true;
        c.mounts.push({
          destination: "/etc",
          type: "tmpfs",
          source: "tmpfs",
          options: ["tmpcopyup", "nosuid"],
        });
        c.process.args = [
          "sh",
          "-c",
          "grep -c root /etc/passwd; stat -c '%a %u:%g' /etc /etc/owned /etc/sub/deep; " +
          "readlink /etc/link; cat /etc/sub/deep; touch /etc/new && echo writable; " +
          "touch /root/x 2>/dev/null || echo root-ro; grep ' /etc ' /proc/mounts | cut -d' ' -f3",
        ];
      });
      Deno.chmodSync(`${b.rootfs}/etc`, 0o750);
      Deno.chownSync(`${b.rootfs}/etc`, 0, 8);
      Deno.writeTextFileSync(`${b.rootfs}/etc/owned`, "x");
      Deno.chmodSync(`${b.rootfs}/etc/owned`, 0o640);
      Deno.chownSync(`${b.rootfs}/etc/owned`, 1000, 1001);
      Deno.mkdirSync(`${b.rootfs}/etc/sub`);
      Deno.writeTextFileSync(`${b.rootfs}/etc/sub/deep`, "deep content\n");
      Deno.chmodSync(`${b.rootfs}/etc/sub/deep`, 0o604);
      Deno.symlinkSync("../no/where", `${b.rootfs}/etc/link`);
      const r = await lab.denki(["run", "--bundle", b.dir, "cu"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        "1\n750 0:8\n640 1000:1001\n604 0:0\n../no/where\ndeep content\nwritable\nroot-ro\ntmpfs\n",
        "the tmpfs root takes the directory's mode and owner, not tmpfs's 1777",
      );
      assert.throws(() => Deno.statSync(`${b.rootfs}/etc/new`), "writes stay in the tmpfs");
      // Read-only: filled first, then made read-only.
      const ro = lab.bundle((c) => {
        c.mounts.push({
          destination: "/etc",
          type: "tmpfs",
          source: "tmpfs",
          options: ["tmpcopyup", "ro"],
        });
        c.process.args = ["sh", "-c", "grep -c root /etc/passwd; touch /etc/x || echo ro"];
      });
      const r2 = await lab.denki(["run", "--bundle", ro.dir, "cu2"]);
      assert.equal(r2.code, 0, r2.stderr);
      assert.equal(r2.stdout, "1\nro\n");
    }),
);
