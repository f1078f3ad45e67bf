/**
 * podman drives denki: Debian's podman 4.3 and conmon run containers from a busybox image
 * loaded from a tarball the tests build (no registry), with `--runtime` naming a denki wrapper
 * and podman's default seccomp profile. Each test has its own storage, state, mount namespace
 * and cgroup parent (see tests/support/podman.ts), all removed afterwards; a test that leaves a
 * container, process, mount or cgroup behind, or changes podman's host paths, fails. Every test
 * that runs a container checks from the wrapper's log that denki (not runc or crun) ran it.
 */
import assert from "node:assert/strict";
import { testImages, WASM_IMAGE, WASM_IMAGE_ENV } from "./support/containerd.ts";
import { cgroupsNamed } from "./support/cgroup_cleanup.ts";
import { run } from "./support/denki.ts";
import {
  IMAGE,
  type Podman,
  PODMAN_REQS,
  runWithTimeout,
  shQuote,
  withPodman,
} from "./support/podman.ts";
import { program, type Requirement, testWith } from "./support/requires.ts";

function T(name: string, fn: (p: Podman) => Promise<void>, reqs = PODMAN_REQS): void {
  testWith(`podman: ${name}`, reqs, () => withPodman(fn));
}

/** `podman run -d` of the busybox image; returns the container's full id. */
async function runDetached(p: Podman, args: string[], extra: string[] = []): Promise<string> {
  const r = await p.podman(["run", "-d", ...p.runOptions, ...extra, IMAGE, ...args]);
  assert.equal(r.code, 0, `podman run -d: ${r.stderr}`);
  const id = r.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  return id;
}

/** `podman inspect --format <format> <id>`, trimmed. */
async function inspect(p: Podman, id: string, format: string): Promise<string> {
  const r = await p.podman(["inspect", "--format", format, id]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** Proves denki ran container `id`: it created it and got each of `commands` for it. */
function assertDenkiRan(p: Podman, id: string, commands: string[] = ["create", "start"]): void {
  const got = p.commandsFor(id);
  assert.ok(p.createdIds().includes(id), `denki created ${id} (calls: ${got.join(", ")})`);
  for (const c of commands) assert.ok(got.includes(c), `denki got ${c} for ${id}: ${got}`);
}

/** The only container denki was asked to create so far. */
function onlyCreated(p: Podman): string {
  const ids = p.createdIds();
  assert.equal(ids.length, 1, `one denki create: ${ids}`);
  return ids[0]!;
}

/** The cgroups left under the instance's parent, other than podman's own (parent, conmon). */
function containerCgroups(p: Podman): string[] {
  return cgroupsNamed(p.cgroupName).filter((d) => !/\/denki-podman-\d+-\d+(\/conmon)?$/.test(d));
}

/** `denki state` of a podman container, read from denki's root in podman's namespace. */
async function denkiState(
  p: Podman,
  id: string,
): Promise<{ code: number; state?: { status: string; pid: number } }> {
  const r = await run(["--root", p.denkiRoot, "state", id]);
  return { code: r.code, state: r.code === 0 ? JSON.parse(r.stdout) : undefined };
}

T("run --rm: the workload's output and exit status", async (p) => {
  const r = await p.podman(["run", "--rm", ...p.runOptions, IMAGE, "sh", "-c", "echo hi; exit 3"]);
  assert.equal(r.stdout, "hi\n", r.stderr);
  assert.equal(r.code, 3, r.stderr);
  const id = onlyCreated(p);
  assert.deepEqual(p.commandsFor(id), ["create", "start", "delete"]);
  // podman asks runtimes it knows for JSON errors, in a log file.
  const create = p.calls().find((c) => c.includes("create"))!;
  assert.deepEqual(create.slice(0, 2), ["--log-format=json", "--log"]);
  assert.equal((await p.podman(["ps", "-aq"])).stdout, "", "--rm removed the container");
  assert.deepEqual(containerCgroups(p), [], "denki removed the container's cgroups");
});

T("run -d, exec, stop, rm", async (p) => {
  const id = await runDetached(p, ["sleep", "1000"]);
  assertDenkiRan(p, id);
  const ps = await p.podman(["ps", "--format", "{{.ID}} {{.Status}}"]);
  assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} Up `), ps.stdout);
  // denki's view: the same container, running, with the pid podman reports.
  const { state } = await denkiState(p, id);
  assert.equal(state?.status, "running");
  assert.equal(String(state?.pid), await inspect(p, id, "{{.State.Pid}}"));

  const ex = await p.podman(["exec", id, "sh", "-c", "echo from-exec; hostname"]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.equal(ex.stdout, `from-exec\n${id.slice(0, 12)}\n`);
  const status = await p.podman(["exec", id, "sh", "-c", "exit 7"]);
  assert.equal(status.code, 7, "podman exec exits with the process's status");
  const execs = p.calls().filter((c) => c.includes("exec") && c.at(-1) === id);
  assert.equal(execs.length, 2);
  assert.ok(execs[0]!.includes("--process") && execs[0]!.includes("--detach"), `${execs[0]}`);

  // sleep as pid 1 ignores SIGTERM: podman sends it, waits 2 s, then SIGKILL.
  const stop = await p.podman(["stop", "-t", "2", id]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stderr, /resorting to SIGKILL/);
  assert.equal(await inspect(p, id, "{{.State.Status}} {{.State.ExitCode}}"), "exited 137");
  const cmds = p.commandsFor(id);
  assert.ok(cmds.includes("kill 15") && cmds.includes("kill 9"), `${cmds}`);

  const rm = await p.podman(["rm", id]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal((await p.podman(["ps", "-aq"])).stdout, "");
  assert.ok(p.commandsFor(id).includes("delete"));
  assert.equal((await denkiState(p, id)).code, 1, "denki has no state for it any more");
  assert.deepEqual(containerCgroups(p), []);
});

T("stop: SIGTERM reaches a workload that handles it", async (p) => {
  const id = await runDetached(p, ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]);
  const started = Date.now();
  const stop = await p.podman(["stop", "-t", "20", id]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.ok(Date.now() - started < 10_000, "stopped by SIGTERM, not by the SIGKILL after 20 s");
  assert.equal(await inspect(p, id, "{{.State.Status}} {{.State.ExitCode}}"), "exited 0");
  assert.ok(p.commandsFor(id).includes("kill 15"));
  assert.ok(!p.commandsFor(id).includes("kill 9"));
  assert.equal((await p.podman(["rm", id])).code, 0);
});

/**
 * Runs podman (`args`) on a terminal: script(1) makes a pty, sizes it 31x101 and runs podman
 * on it; returns what came out of the pty and podman's exit status. script's stdin stays open:
 * at its end of file script writes an EOF character to the pty, which `podman -it` forwards to
 * the container as a NUL (echoed back as `^@`) and which sometimes ends the attach before the
 * output arrives (seen with runc as often as with denki).
 */
async function onTerminal(p: Podman, args: string[]) {
  const cmd = `stty rows 31 cols 101 && exec ${p.argv(args).map(shQuote).join(" ")}`;
  return await runWithTimeout(
    "script",
    ["-q", "-e", "-c", cmd, "/dev/null"],
    p.env(),
    60_000,
    true,
  );
}

const TTY_REQS = [...PODMAN_REQS, program("script")];

T("run -it: a terminal through conmon, sized like podman's", async (p) => {
  const r = await onTerminal(p, [
    "run",
    "--rm",
    "-it",
    ...p.runOptions,
    IMAGE,
    "sh",
    "-c",
    "tty; stty size; exit 4",
  ]);
  // The container's pty turns \n into \r\n; podman copied its own terminal's size to it.
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r\n31 101\r\n$/, JSON.stringify(r));
  assert.equal(r.code, 4, r.stderr);
  const id = onlyCreated(p);
  const create = p.calls().find((c) => c.includes("create"))!;
  assert.ok(create.includes("--console-socket"), "denki sent the pty master to conmon");
  assert.deepEqual(p.commandsFor(id), ["create", "start", "delete"]);
}, TTY_REQS);

T("exec -it: a terminal for a process in a running container", async (p) => {
  const id = await runDetached(p, ["sleep", "1000"]);
  const r = await onTerminal(p, [
    "exec",
    "-it",
    id,
    "sh",
    "-c",
    "tty; stty size; exit 5",
  ]);
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r\n31 101\r\n$/, JSON.stringify(r));
  assert.equal(r.code, 5, r.stderr);
  const exec = p.calls().find((c) => c.includes("exec"))!;
  assert.ok(exec.includes("--tty") && exec.includes("--console-socket"), `${exec}`);
  assert.equal((await p.podman(["rm", "-f", "-t", "0", id])).code, 0);
}, TTY_REQS);

T("the default seccomp profile is applied", async (p) => {
  const script = [
    "grep Seccomp: /proc/self/status",
    "swapoff /dev/null 2>&1",
    "hostname denki-test && hostname",
  ].join("; ");
  // With CAP_SYS_ADMIN, swapoff is refused by the profile alone (it denies swapoff with EPERM
  // for everyone) and sethostname is allowed by the profile's CAP_SYS_ADMIN rule; without
  // the profile, the same swapoff reaches the kernel, which says /dev/null is no swap file.
  const confined = await p.podman([
    "run",
    "--rm",
    ...p.runOptions,
    "--cap-add",
    "SYS_ADMIN",
    IMAGE,
    "sh",
    "-c",
    script,
  ]);
  assert.equal(confined.code, 0, confined.stderr);
  assert.equal(
    confined.stdout,
    "Seccomp:\t2\nswapoff: /dev/null: Operation not permitted\ndenki-test\n",
  );
  const unconfined = await p.podman([
    "run",
    "--rm",
    ...p.runOptions,
    "--cap-add",
    "SYS_ADMIN",
    "--security-opt",
    "seccomp=unconfined",
    IMAGE,
    "sh",
    "-c",
    script,
  ]);
  assert.equal(unconfined.code, 0, unconfined.stderr);
  assert.equal(
    unconfined.stdout,
    "Seccomp:\t0\nswapoff: /dev/null: Invalid argument\ndenki-test\n",
  );
  // Without extra capabilities (podman's default set) the filter is there too.
  const plain = await p.podman([
    "run",
    "--rm",
    ...p.runOptions,
    IMAGE,
    "grep",
    "Seccomp:",
    "/proc/self/status",
  ]);
  assert.equal(plain.stdout, "Seccomp:\t2\n", plain.stderr);
  assert.equal(p.createdIds().length, 3, "denki ran all three");
});

T("the caller's environment reaches neither the container nor exec", async (p) => {
  const env = { SECRET_FROM_CALLER: "1" };
  const r = await p.podman(["run", "--rm", ...p.runOptions, IMAGE, "env"], { env });
  assert.equal(r.code, 0, r.stderr);
  const id = onlyCreated(p);
  // What podman puts in the spec: the image's PATH, its TERM, container, HOME and HOSTNAME.
  assert.deepEqual(
    r.stdout.trim().split("\n").sort(),
    [`HOSTNAME=${id.slice(0, 12)}`, "HOME=/root", "PATH=/bin", "TERM=xterm", "container=podman"]
      .sort(),
  );
  // podman gives conmon and the runtime an environment of its own making (PATH, HOME,
  // CONTAINERS_CONF, XDG_RUNTIME_DIR and conmon's pipes), so the secret never reaches denki.
  const denkiEnv = Deno.readTextFileSync(p.envLog);
  assert.match(denkiEnv, /^export CONTAINERS_CONF=/m, "the wrapper logged denki's environment");
  assert.doesNotMatch(denkiEnv, /SECRET_FROM_CALLER/);

  const ctr = await runDetached(p, ["sleep", "1000"]);
  const ex = await p.podman(["exec", ctr, "env"], { env });
  assert.equal(ex.code, 0, ex.stderr);
  assert.ok(!ex.stdout.includes("SECRET_FROM_CALLER"), ex.stdout);
  assert.match(ex.stdout, /^container=podman$/m);
  assert.equal((await p.podman(["rm", "-f", "-t", "0", ctr])).code, 0);
});

T("ps, top, pause and unpause", async (p) => {
  const id = await runDetached(p, ["sleep", "1000"]);
  const top = await p.podman(["top", id, "pid", "args"]);
  assert.equal(top.code, 0, top.stderr);
  assert.match(top.stdout, /^\s*1\s+sleep 1000\s*$/m, top.stdout);

  const pause = await p.podman(["pause", id]);
  assert.equal(pause.code, 0, pause.stderr);
  assert.equal(await inspect(p, id, "{{.State.Status}}"), "paused");
  assert.equal((await denkiState(p, id)).state?.status, "paused");
  // (`podman ps` without -a lists running containers only.)
  const ps = await p.podman(["ps", "-a", "--format", "{{.ID}} {{.Status}}"]);
  assert.equal(ps.stdout, `${id.slice(0, 12)} Paused\n`);
  const unpause = await p.podman(["unpause", id]);
  assert.equal(unpause.code, 0, unpause.stderr);
  assert.equal(await inspect(p, id, "{{.State.Status}}"), "running");
  assert.equal((await denkiState(p, id)).state?.status, "running");
  const cmds = p.commandsFor(id);
  assert.ok(cmds.includes("pause") && cmds.includes("resume"), `${cmds}`);

  const rm = await p.podman(["rm", "-f", "-t", "0", id]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.ok(p.commandsFor(id).includes("kill 9"));
  assert.ok(p.commandsFor(id).includes("delete"));
});

T("podman info names denki as the OCI runtime", async (p) => {
  const r = await p.podman([
    "info",
    "--format",
    "{{.Host.OCIRuntime.Path}}|{{.Host.OCIRuntime.Version}}",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [path, version] = r.stdout.split("|");
  assert.equal(path, p.wrapper);
  // podman shows what `<runtime> --version` prints.
  assert.match(version!, /^denki version /);
});

T("a denki error reaches podman's message, with runc's exit status", async (p) => {
  const r = await p.podman(["run", "--rm", ...p.runOptions, IMAGE, "/no/such/program"]);
  // podman maps "no such file or directory" from the runtime to 127, as with runc.
  assert.equal(r.code, 127, r.stderr);
  assert.match(
    r.stderr,
    /exec: "\/no\/such\/program": stat \/no\/such\/program: no such file or directory/,
  );
  onlyCreated(p);
  assert.equal((await p.podman(["ps", "-aq"])).stdout, "");
  assert.deepEqual(containerCgroups(p), []);
});

T("a Wasm image runs on denki's Wasm executor", async (p) => {
  const { wasm } = await testImages();
  const load = await p.podman(["load", "-i", wasm.tar]);
  assert.equal(load.code, 0, load.stderr);
  const r = await p.podman(["run", "--rm", ...p.runOptions, WASM_IMAGE]);
  assert.equal(r.code, 0, r.stderr);
  const id = onlyCreated(p);
  // The module prints its environment: the image's, plus what podman adds.
  assert.match(r.stdout, /^Hello from a denki Wasm container\. My environment:\n/);
  const env = r.stdout.trim().split("\n").slice(1).sort();
  assert.deepEqual(
    env,
    [...WASM_IMAGE_ENV, "TERM=xterm", "container=podman", `HOSTNAME=${id.slice(0, 12)}`].sort(),
  );
});

T("run --read-only and --tmpfs: tmpfs mounts that start with the image's files", async (p) => {
  const r = await p.podman([
    "run",
    "--rm",
    ...p.runOptions,
    "--read-only",
    "--tmpfs",
    "/etc",
    IMAGE,
    "sh",
    "-c",
    "grep -E ' /(etc|run|tmp|var/tmp) ' /proc/self/mounts | cut -d' ' -f2,3; cat /etc/passwd; touch /x",
  ]);
  assert.equal(r.code, 1, "the root is read-only");
  // The four tmpfs mounts and the copied-up /etc. Under podman here the kernel lists these
  // mounts in varying order from run to run (denki mounts them in config order; the
  // conformance check mounts.order covers that), so the lines are compared as a set.
  const lines = r.stdout.trim().split("\n");
  assert.deepEqual(lines.slice(0, 4).sort(), [
    "/etc tmpfs",
    "/run tmpfs",
    "/tmp tmpfs",
    "/var/tmp tmpfs",
  ]);
  assert.equal(lines[4], "root:x:0:0:root:/root:/bin/sh");
  assert.match(r.stderr, /touch: \/x: Read-only file system/);
  onlyCreated(p);
});

/** The v1 memory hierarchy's mount point, if this host has one. */
function v1Memory(): string | undefined {
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const [pre, post] = line.split(" - ");
    const [fstype, , opts = ""] = (post ?? "").split(" ");
    if (fstype === "cgroup" && opts.split(",").includes("memory")) return pre!.split(" ")[4];
  }
  return undefined;
}

/**
 * podman gives a container on a cgroup v1 host no cgroup namespace; it then sees its own cgroup
 * at /sys/fs/cgroup/memory (a bind of the container's cgroup directory, as runc shows it).
 */
function v1Host(): Requirement {
  return v1Memory() === undefined
    ? "no cgroup v1 memory hierarchy (podman then uses a cgroup namespace)"
    : undefined;
}

T("the container sees its own cgroup limits (cgroup v1, no cgroup namespace)", async (p) => {
  const r = await p.podman([
    "run",
    "--rm",
    ...p.runOptions,
    "--memory",
    "64m",
    "--pids-limit",
    "50",
    IMAGE,
    "sh",
    "-c",
    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${64 * 1024 * 1024}\n50\n`);
  onlyCreated(p);
}, [...PODMAN_REQS, v1Host()]);
