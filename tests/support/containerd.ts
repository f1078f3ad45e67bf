/**
 * containerd driving denki, as on a real node but owned by one test: Debian's containerd
 * started by hand with its config, root, state and socket in a temp dir, its own containerd
 * namespace (`denki-ctrd-<pid>-<n>`, so the cgroups ctr asks for, `/<namespace>/<id>`, are
 * unique), and a cleanup that leaves nothing behind: tasks and containers deleted through
 * ctr, containerd stopped by pid (SIGTERM, then SIGKILL), stray shims and container
 * processes killed by pid, denki state deleted, mounts under the temp dir unmounted and the
 * namespace's cgroups removed from every hierarchy.
 *
 * Two things containerd 1.6 does not let a config move out of /run/containerd: the shim's
 * socket (`/run/containerd/s/<hash>`, a constant in the shim library) and the runc shim's
 * default `--root` (`/run/containerd/runc/<namespace>`, used whenever the client sends no
 * runc options). So containerd runs in a private mount namespace (`unshare --mount`) where
 * /run is a bind of `<tmp>/run`: the host's /run is untouched, and everything the shim puts
 * there is visible from the host under the temp dir. The overlay mounts of container root
 * filesystems also stay in that namespace and go away with its last process.
 *
 * The runc shim runs its runtime binary with its own environment, which is containerd's: a
 * clean one here, where Deno is not on PATH. So the harness writes `<tmp>/bin/denki`, a wrapper
 * that sets DENKI_DENO, notes its arguments in `<tmp>/denki-calls.log` and execs bin/denki.
 * It reaches the shim two ways (`Route`): `ctr run --runc-binary <wrapper>` (the runc options
 * ctr sends with the container), or as `runc` on containerd's PATH (`<tmp>/bin/runc` links to
 * the wrapper), which the shim runs when a client sends no BinaryName. containerd's
 * `BinaryName` in config.toml is read by the CRI plugin only (ctr never sees it), and CRI is
 * disabled here.
 *
 * denki's own shim is reached the way containerd finds any v2 runtime: `--runtime
 * io.containerd.denki.v2` makes containerd look for `containerd-shim-denki-v2` on its PATH,
 * where `<tmp>/bin/containerd-shim-denki-v2` sets DENKI_DENO and execs the repo's launcher. Its
 * daemons (argv `-namespace <ns> ...`) outlive containerd by design, and keep their state in
 * `/run/containerd/denki/<ns>` (under the temp dir here); the cleanup handles both.
 */
import { CONTAINER_REQS } from "./container.ts";
import { LAUNCHER, run, type RunResult } from "./denki.ts";
import { testImages } from "./test_images.ts";
import { program, type Requirement } from "./requires.ts";
import { cgroupsNamed, emptyAndRemove } from "./cgroup_cleanup.ts";
import { exists } from "./fs.ts";
import { withHarness } from "./harness.ts";

const REPO = new URL("../..", import.meta.url).pathname;

export {
  BUSYBOX_IMAGE,
  PAUSE_IMAGE,
  testImages,
  WASM_IMAGE,
  WASM_IMAGE_ENV,
} from "./test_images.ts";

/** The shim's launcher in this checkout (what the PATH wrapper execs). */
export const SHIM_LAUNCHER = `${REPO}bin/containerd-shim-denki-v2`;

/** The runtime name that makes containerd run denki's shim. */
export const DENKI_RUNTIME = "io.containerd.denki.v2";

/** What the containerd tests need: root, busybox, containerd with ctr and the runc v2 shim. */
export const CONTAINERD_REQS: Requirement[] = [
  ...CONTAINER_REQS,
  program("containerd"),
  program("ctr"),
  program("containerd-shim-runc-v2"),
  program("unshare"),
  program("tar"),
];

/** How the shim finds denki: ctr's --runc-binary option, or `runc` on containerd's PATH. */
export type Route = "runc-binary" | "path";

const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

let instances = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mount points (field 5 of mountinfo) of `table` that lie under `dir`, deepest first. */
export function mountsUnder(table: string, dir: string): string[] {
  return table.split("\n").map((l) => l.split(" ")[4] ?? "")
    // mountinfo escapes spaces and the like as \040 octal sequences.
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.split("/").length - a.split("/").length);
}

/** Pids whose command line (split into arguments) satisfies `match`. */
export function pidsWhere(match: (args: string[], pid: number) => boolean): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const args = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      if (match(args, Number(e.name))) out.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * A wrapper `path` that notes each call's arguments in `log` and execs `launcher` with Deno
 * known: `by` runs it with containerd's environment, which has no Deno on its PATH.
 */
function writeWrapper(path: string, launcher: string, log: string, by: string): void {
  Deno.writeTextFileSync(
    path,
    [
      "#!/bin/sh",
      `# Run by ${by} with containerd's environment, which has no Deno.`,
      `printf '%s\\n' "$*" >> '${log}'`,
      `DENKI_DENO='${Deno.execPath()}'`,
      "export DENKI_DENO",
      `exec '${launcher}' "$@"`,
      "",
    ].join("\n"),
  );
  Deno.chmodSync(path, 0o755);
}

/** Pids whose command line contains `needle` as one argument. */
export function pidsWithArg(needle: string): number[] {
  return pidsWhere((args) => args.includes(needle));
}

/**
 * Pids of shim processes of containerd namespace `ns`: `-namespace <ns>` in their arguments
 * (ctr spells its flag `-n`, so it is not counted), or a spare daemon that took a pod of `ns`
 * (its arguments name no namespace; its working directory is that pod's bundle, under
 * `.../io.containerd.runtime.v2.task/<ns>/`). With `daemonsOnly`, the short-lived `start` and
 * `delete` sub-commands are left out.
 */
export function shimPids(ns: string, daemonsOnly = false): number[] {
  return pidsWhere((args, pid) => {
    const i = args.indexOf("-namespace");
    if (i < 0) return false;
    if (args[i + 1] !== ns) return isSpare(args) && adoptedIn(pid, ns);
    const last = args.filter((a) => a !== "").at(-1);
    return !daemonsOnly || (last !== "start" && last !== "delete");
  });
}

/** A denki shim spare daemon's arguments (see lib/shim/spare.ts). */
export function isSpare(args: readonly string[]): boolean {
  return args.includes("--containerd-shim-v2") && args.filter((a) => a !== "").at(-1) === "spare";
}

/** Whether process `pid` works in a bundle of containerd namespace `ns`. */
function adoptedIn(pid: number, ns: string): boolean {
  try {
    return Deno.readLinkSync(`/proc/${pid}/cwd`).includes(`/io.containerd.runtime.v2.task/${ns}/`);
  } catch {
    return false;
  }
}

/** Whether process `pid` works in a directory under `dir`. */
function cwdUnder(pid: number, dir: string): boolean {
  try {
    return Deno.readLinkSync(`/proc/${pid}/cwd`).startsWith(`${dir}/`);
  } catch {
    return false;
  }
}

function kill(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Runs a program with the host PATH and no stdin, collecting its output; a run that hangs
 * (a shim waiting on its runtime) is killed by pid after `timeoutMs` and gets status 124.
 */
export async function runFor(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    clearEnv: true,
    env: { PATH: HOST_PATH },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill(child.pid, "SIGKILL");
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  const stderr = dec.decode(out.stderr);
  return {
    code: timedOut ? 124 : out.code,
    stdout: dec.decode(out.stdout),
    stderr: timedOut ? `${stderr}(${cmd} killed after ${timeoutMs} ms)` : stderr,
  };
}

/**
 * What turns a harness containerd into a Kubernetes node's (tests/support/cri/): the CRI
 * plugin's config, written into config.toml for the instance's temp dir.
 */
export interface CriSetup {
  toml(c: Containerd): string;
}

/** One containerd daemon, owned by a test. */
export class Containerd {
  /** The temp dir that holds everything of this instance. */
  readonly dir = Deno.makeTempDirSync({ prefix: "denki-ctrd-" });
  /** A name unique per test process and instance (the cgroups the harness may remove). */
  readonly name = `denki-ctrd-${Deno.pid}-${instances++}`;
  /** The containerd namespace: `name`, or CRI's fixed `k8s.io` for a node with CRI. */
  readonly ns: string;
  readonly socket = `${this.dir}/containerd.sock`;
  /** The denki wrapper (what `--runc-binary` gets; `<dir>/bin/runc` links to it). */
  readonly denki = `${this.dir}/bin/denki`;
  /** Each denki call's arguments, one line per call. */
  readonly calls = `${this.dir}/denki-calls.log`;
  /** What the harness passes as `--runc-root`; the shim adds `/<namespace>`. */
  readonly runcRoot = `${this.dir}/runc-root`;
  /** Where the shim's default root (/run/containerd/runc) lands, seen from the host. */
  readonly defaultRuncRoot = `${this.dir}/run/containerd/runc`;
  readonly fifoDir = `${this.dir}/fifo`;
  readonly log = `${this.dir}/containerd.log`;
  snapshotter = "overlayfs";
  #child: Deno.ChildProcess | undefined;
  #hostPaths = ["/run/containerd", "/opt/containerd", "/var/lib/containerd"].map((
    p,
  ) => [p, exists(p)] as const);

  /** The containerd pid (also the pid of its private mount namespace's first process). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The shim wrapper on containerd's PATH, `containerd-shim-denki-v2`. */
  readonly shimWrapper = `${this.dir}/bin/containerd-shim-denki-v2`;
  /** Each call of the denki shim's binary (start, delete, the daemon), one line per call. */
  readonly shimCalls = `${this.dir}/shim-calls.log`;
  /** Where denki's shim keeps its containers' state, `/run/containerd/denki/<ns>`, seen from the host. */
  get shimStateRoot(): string {
    return `${this.dir}/run/containerd/denki/${this.ns}`;
  }
  #env: Record<string, string> = {};

  /**
   * A containerd of its own; with `cri`, its CRI plugin is on, and it runs in a private
   * network namespace too (with loopback up, so pods on the "host" network stay off the
   * host's), with a tmpfs on /var/lib (CNI keeps its cache in /var/lib/cni, not movable).
   */
  constructor(readonly cri?: CriSetup) {
    this.ns = cri === undefined ? this.name : "k8s.io";
  }

  /**
   * Starts containerd and waits for its socket; `pathRuntime` is what `runc` on its PATH is,
   * `env` extra variables in containerd's environment (and so its shims').
   */
  async start(
    pathRuntime: "denki" | "runc" = "denki",
    env: Record<string, string> = {},
  ): Promise<void> {
    for (const d of ["bin", "run", "fifo", "runc-root", "tmp"]) Deno.mkdirSync(`${this.dir}/${d}`);
    writeWrapper(this.denki, LAUNCHER, this.calls, "containerd's runc shim");
    writeWrapper(
      this.shimWrapper,
      SHIM_LAUNCHER,
      this.shimCalls,
      "containerd (io.containerd.denki.v2)",
    );
    if (pathRuntime === "denki") Deno.symlinkSync(this.denki, `${this.dir}/bin/runc`);
    Deno.writeTextFileSync(`${this.dir}/config.toml`, this.#config());
    this.#env = env;
    await this.#spawn();
    const plugins = (await this.ctr(["plugins", "ls"])).stdout;
    if (!/io\.containerd\.snapshotter\.v1\s+overlayfs\s+\S+\s+ok/.test(plugins)) {
      // overlayfs cannot stack on every file system the temp dir may be on.
      this.snapshotter = "native";
      // (The CRI config names its snapshotter before containerd can say.)
      if (this.cri !== undefined) throw new Error("containerd has no overlayfs snapshotter here");
    }
  }

  /**
   * Stops containerd by pid with `signal` (SIGKILL after 10 s) and starts it again with the
   * same config, root, state and environment, as a node's init system would. Its shims and
   * their containers are not touched.
   */
  async restart(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (child === undefined) throw new Error("containerd restart: it is not running");
    kill(child.pid, signal);
    const stopped = await Promise.race([child.status, sleep(10_000).then(() => undefined)]);
    if (stopped === undefined) {
      kill(child.pid, "SIGKILL");
      await child.status;
    }
    this.#child = undefined;
    await this.#spawn();
  }

  async #spawn(): Promise<void> {
    // unshare execs sh, which execs containerd: the child's pid is containerd's.
    const node = this.cri === undefined ? [] : ["--net"];
    const setup = this.cri === undefined
      ? ""
      : "ip link set lo up && mount -t tmpfs -o mode=0755 tmpfs /var/lib && ";
    const child = new Deno.Command("unshare", {
      args: [
        "--mount",
        ...node,
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        `${setup}mount --bind "$1" /run && exec containerd --config "$2" >>"$3" 2>&1`,
        "sh",
        `${this.dir}/run`,
        `${this.dir}/config.toml`,
        this.log,
      ],
      clearEnv: true,
      // TMPDIR: the shim makes its console sockets under it (/tmp/pty<n>/pty.sock otherwise).
      env: { ...this.#env, PATH: `${this.dir}/bin:${HOST_PATH}`, TMPDIR: `${this.dir}/tmp` },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#child = child;
    const end = Date.now() + 15_000;
    for (;;) {
      if (exists(this.socket) && (await this.ctr(["version"])).code === 0) break;
      const exited = await Promise.race([child.status, sleep(50).then(() => undefined)]);
      if (exited !== undefined) {
        throw new Error(`containerd exited with ${exited.code}: ${this.logTail()}`);
      }
      if (Date.now() > end) throw new Error(`containerd did not come up: ${this.logTail()}`);
    }
  }

  #config(): string {
    const q = JSON.stringify;
    return [
      "version = 2",
      `root = ${q(`${this.dir}/root`)}`,
      `state = ${q(`${this.dir}/state`)}`,
      "oom_score = 0",
      // CRI (and its network and image pulling), snapshotters this machine has no file
      // system for, and `opt`, which would create /opt/containerd. (The legacy v1 runtime
      // stays: the tasks service refuses to load without it.)
      "disabled_plugins = [",
      ...[
        ...(this.cri === undefined ? ["io.containerd.grpc.v1.cri"] : []),
        "io.containerd.snapshotter.v1.btrfs",
        "io.containerd.snapshotter.v1.zfs",
        "io.containerd.snapshotter.v1.aufs",
        "io.containerd.snapshotter.v1.devmapper",
        "io.containerd.internal.v1.opt",
        "io.containerd.internal.v1.tracing",
        "io.containerd.tracing.processor.v1.otlp",
      ].map((p) => `  ${q(p)},`),
      "]",
      "[grpc]",
      `  address = ${q(this.socket)}`,
      "[ttrpc]",
      `  address = ${q(`${this.socket}.ttrpc`)}`,
      "[debug]",
      '  address = ""',
      '  level = "info"',
      "[metrics]",
      '  address = ""',
      this.cri?.toml(this) ?? "",
      "",
    ].join("\n");
  }

  /** The last lines of containerd's log (for error messages). */
  logTail(lines = 20): string {
    try {
      return Deno.readTextFileSync(this.log).trim().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** Runs `ctr -a <socket> -n <namespace> ...args`, killed after `timeoutMs`. */
  ctr(args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return runFor("ctr", ["-a", this.socket, "-n", this.ns, ...args], timeoutMs);
  }

  /** `ctr run` options that pick denki for `route` (and keep ctr's fifos in the temp dir). */
  runtimeFlags(route: Route): string[] {
    const fifo = ["--fifo-dir", this.fifoDir, "--snapshotter", this.snapshotter];
    if (route === "path") return fifo;
    return [...fifo, "--runc-binary", this.denki, "--runc-root", this.runcRoot];
  }

  /** The `--root` the shim gives denki for containers started through `route`. */
  stateRoot(route: Route): string {
    return `${route === "path" ? this.defaultRuncRoot : this.runcRoot}/${this.ns}`;
  }

  /** A path as containerd and its shims see it, as seen from the host (/run is moved). */
  hostView(path: string): string {
    return path === "/run" || path.startsWith("/run/") ? `${this.dir}${path}` : path;
  }

  /**
   * The `--root` of the denki call that created container `id`, from the wrapper's log, as
   * seen from the host.
   */
  rootOfCreate(id: string): string | undefined {
    let text = "";
    try {
      text = Deno.readTextFileSync(this.calls);
    } catch {
      return undefined;
    }
    for (const line of text.split("\n")) {
      const words = line.split(" ");
      if (words.includes("create") && words.at(-1) === id) {
        const i = words.indexOf("--root");
        if (i >= 0 && words[i + 1] !== undefined) return this.hostView(words[i + 1]!);
      }
    }
    return undefined;
  }

  /** `denki --root <root> ...args`, for looking at containers the shim made. */
  denkiAt(root: string, args: string[]): Promise<RunResult> {
    return run(["--root", root, ...args]);
  }

  /** Imports the test images (built once per process). */
  async importImages(): Promise<void> {
    const { busybox, wasm, pause } = await testImages();
    for (const image of this.cri === undefined ? [busybox, wasm] : [busybox, wasm, pause]) {
      const r = await this.ctr(["image", "import", "--snapshotter", this.snapshotter, image.tar]);
      if (r.code !== 0) throw new Error(`ctr image import ${image.name}: ${r.stderr}`);
    }
  }

  async #ids(kind: "task" | "container"): Promise<string[]> {
    const r = await this.ctr([kind, "ls", "-q"]);
    return r.code === 0 ? r.stdout.split("\n").filter((l) => l !== "") : [];
  }

  /**
   * Stops containerd and removes everything this instance made. Returns what it had to
   * clean up beyond the daemon itself (empty after a test that tidied up after itself).
   */
  async stop(): Promise<string[]> {
    const left: string[] = [];
    const child = this.#child;
    if (child !== undefined) {
      // Through containerd first, the way its own users clean up.
      for (const id of await this.#ids("task")) {
        left.push(`task ${id}`);
        await this.ctr(["task", "kill", "-s", "SIGKILL", id]);
        await this.ctr(["task", "delete", "--force", id]);
      }
      for (const id of await this.#ids("container")) {
        left.push(`container ${id}`);
        await this.ctr(["container", "delete", id]);
      }
      // Mounts left in containerd's own mount namespace (rootfs mounts not undone).
      try {
        const inside = Deno.readTextFileSync(`/proc/${child.pid}/mountinfo`);
        for (const m of mountsUnder(inside, this.dir)) left.push(`mount in containerd: ${m}`);
      } catch {
        // containerd died
      }
      kill(child.pid, "SIGTERM");
      const stopped = await Promise.race([child.status, sleep(10_000).then(() => undefined)]);
      if (stopped === undefined) {
        left.push("containerd ignored SIGTERM");
        kill(child.pid, "SIGKILL");
        await child.status;
      }
      this.#child = undefined;
    }
    // Shims outlive containerd by design; each names this instance's socket in its args, or
    // (a spare that took a pod) works in one of this instance's bundles.
    const adopted = pidsWhere((args, pid) => isSpare(args) && cwdUnder(pid, this.dir));
    for (const pid of new Set([...pidsWithArg(this.socket), ...adopted])) {
      left.push(`shim pid ${pid}`);
      kill(pid, "SIGKILL");
    }
    // The denki shim's spare daemon waits for the next pod by design: stopped, not counted.
    const spare = this.spareDaemon();
    if (spare !== undefined) kill(spare, "SIGKILL");
    left.push(...(await this.#removeShimState()));
    // denki containers the shim did not delete (their processes included).
    for (const root of [this.stateRoot("runc-binary"), this.stateRoot("path")]) {
      if (!exists(root)) continue;
      for (const e of Deno.readDirSync(root)) {
        // (`@seccomp` and the like are denki caches, not containers.)
        if (!e.isDirectory || e.name.startsWith("@")) continue;
        left.push(`denki container ${root}/${e.name}`);
        await this.denkiAt(root, ["delete", "--force", e.name]);
      }
    }
    left.push(...(await this.#removeCgroups()));
    // Normally none: containerd's mounts stay in its own namespace. Lazily, and only ours.
    for (const m of mountsUnder(Deno.readTextFileSync("/proc/self/mountinfo"), this.dir)) {
      left.push(`host mount ${m}`);
      await new Deno.Command("umount", { args: ["-l", m], stderr: "null" }).output();
    }
    // Paths containerd and its shim use when nothing moves them; the harness must keep the
    // host's versions as they were (it does not remove them: they may be someone else's).
    for (const [path, before] of this.#hostPaths) {
      if (!before && exists(path)) left.push(`host path ${path} appeared`);
    }
    Deno.removeSync(this.dir, { recursive: true });
    return left;
  }

  /** The pid of this instance's waiting denki shim spare daemon, if one runs. */
  spareDaemon(): number | undefined {
    let pid: number;
    try {
      pid = Number(Deno.readTextFileSync(`${this.dir}/run/containerd/s/denki-spare.pid`).trim());
      const args = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
      return isSpare(args) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * denki shim containers left in its state root (deleted with the CLI, which kills their
   * processes), that root itself, and the shims' sockets (a shim killed with SIGKILL cannot
   * remove its own; containerd's runc shim leaves them too, so they are not counted).
   */
  async #removeShimState(): Promise<string[]> {
    const left: string[] = [];
    const root = this.shimStateRoot;
    if (exists(root)) {
      for (const e of Deno.readDirSync(root)) {
        // (`@seccomp` and the like are denki caches, not containers.)
        if (!e.isDirectory || e.name.startsWith("@")) continue;
        left.push(`denki shim container ${root}/${e.name}`);
        await this.denkiAt(root, ["delete", "--force", e.name]);
      }
      Deno.removeSync(root, { recursive: true });
    }
    const sockets = `${this.dir}/run/containerd/s`;
    if (exists(sockets)) Deno.removeSync(sockets, { recursive: true });
    return left;
  }

  /** Thaws, empties (SIGKILL by pid) and removes `/<name>` on every hierarchy. */
  async #removeCgroups(): Promise<string[]> {
    const dirs = cgroupsNamed(this.name);
    const stuck = await emptyAndRemove(dirs);
    if (stuck.length > 0) throw new Error(`cannot remove cgroups: ${stuck.join(", ")}`);
    return dirs.map((d) => `cgroup ${d}`);
  }
}

/**
 * Runs `fn` with a started containerd that has the test images, and always stops it and
 * cleans up; a test that passed but left something behind fails with the list.
 */
export async function withContainerd(
  fn: (c: Containerd) => Promise<void>,
  pathRuntime: "denki" | "runc" = "denki",
  env: Record<string, string> = {},
): Promise<void> {
  await withHarness("containerd", async () => {
    const c = new Containerd();
    try {
      await c.start(pathRuntime, env);
      await c.importImages();
    } catch (err) {
      await c.stop().catch((cleanup) => console.error(`containerd harness: ${cleanup}`));
      throw err;
    }
    return c;
  }, fn);
}
