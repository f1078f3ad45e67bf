/** linux.seccomp end to end: filters compiled by denki, installed in real containers. */
import assert from "node:assert/strict";
import { CONTAINER_REQS, type Json, type Lab, withLab } from "./support/container.ts";
import { type Requirement, testWith } from "./support/requires.ts";
import { fromContainersProfile } from "../lib/plan/testing/containers_profile.ts";
import { AUDIT_ARCH, syscallNr } from "../lib/plan/seccomp/tables.ts";
import { POLLIN } from "../lib/plan/abi.ts";
import { Errno } from "../lib/plan/errno.ts";
import { syscall } from "../lib/sys/libc.ts";
import { acceptUnix, listenUnix, recvWithFds } from "../lib/sys/unix.ts";
import { pollOne } from "../lib/sys/syscalls.ts";

const PROFILE = "/usr/share/containers/seccomp.json";
const ARCH = Deno.build.arch;

function fileExists(path: string): Requirement {
  try {
    Deno.statSync(path);
    return undefined;
  } catch {
    return `${path} is missing (Debian: golang-github-containers-common)`;
  }
}

const T = (name: string, fn: () => Promise<void>, reqs: Requirement[] = []) =>
  testWith(`seccomp: ${name}`, [...CONTAINER_REQS, ...reqs], fn);

/** A profile that allows everything but mkdir (both syscalls), which gets `action`. */
function denyMkdir(action = "SCMP_ACT_ERRNO", extra: Json = {}): Json {
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ARCH === "x86_64" ? ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"] : ["SCMP_ARCH_ARM"],
    syscalls: [{ names: ["mkdir", "mkdirat"], action, ...extra }],
  };
}

/** Runs `script` under sh in a container with a writable root and `patch` applied. */
async function sh(lab: Lab, script: string, patch: (c: Json) => void, id = "s1") {
  return await lab.runIn(["sh", "-c", script], (c) => {
    c.root.readonly = false;
    patch(c);
  }, id);
}

T("the containers-common profile runs a busybox workload and still denies", async () => {
  const json = JSON.parse(Deno.readTextFileSync(PROFILE));
  for (const nnp of [true, false]) {
    await withLab(async (lab) => {
      const r = await sh(
        lab,
        "ls / >/dev/null && cat /etc/passwd >/dev/null && mkdir /tmp/d && echo hi >/tmp/d/f && " +
          "cat /tmp/d/f && grep '^Seccomp:' /proc/self/status; swapoff /etc/passwd; echo swapoff=$?",
        (c) => {
          // CAP_SYS_ADMIN, so that swapoff's EPERM can only come from the filter.
          for (const set of ["bounding", "effective", "permitted"]) {
            c.process.capabilities[set].push("CAP_SYS_ADMIN");
          }
          c.process.noNewPrivileges = nnp;
          c.linux.seccomp = fromContainersProfile(json, ARCH, c.process.capabilities.bounding);
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^hi\nSeccomp:\t2\nswapoff=1\n$/, `noNewPrivileges ${nnp}`);
      assert.match(r.stderr, /swapoff: \/etc\/passwd: Operation not permitted/);
    });
  }
}, [fileExists(PROFILE)]);

T("a denied mkdir fails with EPERM, other calls work; with and without no_new_privs", async () => {
  for (const nnp of [true, false]) {
    await withLab(async (lab) => {
      const r = await sh(lab, "mkdir /tmp/x; touch /tmp/y && echo touched; ls /tmp", (c) => {
        c.process.noNewPrivileges = nnp;
        c.linux.seccomp = denyMkdir();
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /mkdir: can't create directory '\/tmp\/x': Operation not permitted/);
      assert.equal(r.stdout, "touched\ny\n", `noNewPrivileges ${nnp}`);
    });
  }
});

T("errnoRet is the errno the workload sees", () =>
  withLab(async (lab) => {
    const r = await sh(lab, "mkdir /tmp/x", (c) => {
      c.linux.seccomp = denyMkdir("SCMP_ACT_ERRNO", { errnoRet: 38 });
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Function not implemented/);
  }));

T("SCMP_ACT_KILL_PROCESS kills the workload with SIGSYS", () =>
  withLab(async (lab) => {
    const r = await lab.runIn(["mkdir", "/tmp/x"], (c) => {
      c.linux.seccomp = denyMkdir("SCMP_ACT_KILL_PROCESS");
    });
    assert.equal(r.code, 128 + 31, r.stderr);
  }));

T("unknown syscall names are skipped and said in the debug log", () =>
  withLab(async (lab) => {
    const b = lab.bundle((c) => {
      c.process.args = ["true"];
      c.linux.seccomp = denyMkdir();
      c.linux.seccomp.syscalls[0].names.push("no_such_syscall");
    });
    const r = await lab.denki(["--debug", "run", "--bundle", b.dir, "u1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /unknown syscall \\?"no_such_syscall\\?"/);
  }));

const SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100;
const SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101;

/** Polls `fd` for input without blocking the event loop (the container runs meanwhile). */
async function readable(fd: number, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while ((pollOne(fd, POLLIN, 0) & POLLIN) === 0) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

T(
  "SCMP_ACT_NOTIFY: the agent gets the state and the fd, and answers for the workload",
  () =>
    withLab(async (lab) => {
      const agent = `${lab.dir}/agent.sock`;
      const server = listenUnix(agent);
      const opened: number[] = [server];
      try {
        const b = lab.bundle((c) => {
          c.process.args = ["sh", "-c", "mkdir /tmp/n; echo after"];
          c.linux.seccomp = {
            ...denyMkdir("SCMP_ACT_NOTIFY"),
            listenerPath: agent,
            listenerMetadata: "agent-meta",
          };
        });
        const running = lab.denki(["run", "--bundle", b.dir, "n1"]);
        await readable(server, "create to connect");
        const conn = acceptUnix(server);
        opened.push(conn);
        const msg = recvWithFds(conn);
        opened.push(...msg.fds);
        const state = JSON.parse(new TextDecoder().decode(msg.data));
        assert.deepEqual(state.fds, ["seccompFd"]);
        assert.equal(msg.fds.length, 1);
        assert.equal(state.metadata, "agent-meta");
        assert.equal(state.state.id, "n1");
        assert.equal(state.state.status, "creating");
        assert.equal(state.state.bundle, b.dir);
        assert.equal(state.pid, state.state.pid);
        assert.ok(state.pid > 1);
        const fd = msg.fds[0]!;
        assert.equal(Deno.readLinkSync(`/proc/self/fd/${fd}`), "anon_inode:seccomp notify");

        // The workload's mkdir waits for this agent: refuse it with EACCES.
        await readable(fd, "the notification");
        const req = new Uint8Array(80);
        assert.equal(syscall("ioctl", fd, SECCOMP_IOCTL_NOTIF_RECV, req).ret, 0n);
        const rv = new DataView(req.buffer);
        const mkdirs = [syscallNr(ARCH, "mkdir"), syscallNr(ARCH, "mkdirat")];
        assert.ok(mkdirs.includes(rv.getInt32(16, true)), `syscall ${rv.getInt32(16, true)}`);
        assert.equal(rv.getUint32(20, true), AUDIT_ARCH[ARCH]);
        const resp = new Uint8Array(24);
        const wv = new DataView(resp.buffer);
        wv.setBigUint64(0, rv.getBigUint64(0, true), true);
        wv.setInt32(16, -Errno.EACCES, true);
        assert.equal(syscall("ioctl", fd, SECCOMP_IOCTL_NOTIF_SEND, resp).ret, 0n);

        const r = await running;
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /can't create directory '\/tmp\/n': Permission denied/);
        assert.equal(r.stdout, "after\n");
      } finally {
        for (const fd of opened) syscall("close", fd);
      }
    }),
);

T(
  "a profile denki cannot apply fails create on one line, leaving nothing behind",
  () =>
    withLab(async (lab) => {
      const cases: [Json, RegExp][] = [
        [
          {
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [{ names: ["read"], action: "SCMP_ACT_NOTIFY" }],
          },
          /linux\.seccomp\.listenerPath: is required by SCMP_ACT_NOTIFY/,
        ],
        [
          {
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [{
              names: ["read"],
              action: "SCMP_ACT_ERRNO",
              args: [{ index: 7, value: 0, op: "SCMP_CMP_EQ" }],
            }],
          },
          /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: must be from 0 to 5, not 7/,
        ],
        [
          // Valid to the schema; refused by the compiler in the init.
          denyMkdir("SCMP_ACT_ERRNO", { errnoRet: 70000 }),
          /linux\.seccomp\.syscalls\[0\]\.errnoRet: 70000 does not fit/,
        ],
      ];
      for (const [i, [seccomp, want]] of cases.entries()) {
        const b = lab.bundle((c) => (c.linux.seccomp = seccomp));
        const r = await lab.denki(["create", "--bundle", b.dir, `bad${i}`]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, want);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
        assert.deepEqual(lab.containers(), []);
      }
    }),
);
