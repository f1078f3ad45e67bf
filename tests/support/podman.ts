/**
 * podman driving denki, owned by one test: Debian's podman 4.3 and conmon with `--runtime` set
 * to a denki wrapper, everything podman keeps (storage, libpod state, locks, events, networks
 * config) in a temp dir, and a cleanup that leaves nothing behind.
 *
 * Isolation, and why each piece is there:
 * - Global flags on every call: `--root`, `--runroot`, `--tmpdir`, `--storage-driver vfs` (no
 *   overlay mounts to undo; the busybox image is 2 MB), `--cgroup-manager cgroupfs` (no systemd
 *   here), `--events-backend file`, `--network-config-dir` and `--runtime <wrapper>`.
 *   podman repeats them in the exit command it gives conmon (`podman container cleanup`).
 * - `CONTAINERS_CONF` names a containers.conf in the temp dir; podman then reads no other
 *   (not /etc/containers/containers.conf, not /usr/share/containers/containers.conf). It sets
 *   file locks under the temp dir (the default "shm" lock type uses the host-wide
 *   /dev/shm/libpod_lock), the seccomp profile (Debian's default one), the events log, and
 *   registers the runtime as "denki" in `runtime_supports_json` so podman asks it for JSON
 *   errors (`--log-format=json --log <file>`), as it does for runc and crun.
 * - `podman run` gets `--pull never` (the image is local; a miss must not go to a registry),
 *   `--network none` (no CNI or netavark), this machine's ulimits (root lacks
 *   CAP_SYS_RESOURCE) and `--cgroup-parent /denki-podman-<pid>-<n>`: with cgroupfs, podman
 *   puts the container at `<parent>/libpod-<id>` and conmon at `<parent>/conmon` (the default
 *   parent, /libpod_parent, is shared by every podman on the host).
 * - Two host paths no flag moves: `podman load` writes c/image's blob info cache to
 *   /var/lib/containers/cache (root's default, no option in podman 4.3), and a runtime called
 *   without `--root` (podman passes none) keeps its state under /run (denki: /run/denki). So
 *   podman runs in a private mount namespace, held open by a `sleep` started with `unshare
 *   --mount --propagation private`, where /run is a bind of `<tmp>/run` and /var/lib an
 *   overlay whose upper layer is `<tmp>/var-lib/upper`; every call enters it with `nsenter`.
 *   What podman mounts (each container's /dev/shm tmpfs) stays in that namespace and goes
 *   away with it. (nsenter resets the working directory: pass absolute paths.)
 *
 * podman (for start, kill, delete...) and conmon (for create and exec) run the runtime with
 * an environment podman makes (PATH, HOME, CONTAINERS_CONF, XDG_RUNTIME_DIR; nothing else of
 * the caller's), where Deno is not on PATH. So the harness writes `<tmp>/bin/denki`, a wrapper that sets DENKI_DENO, notes its arguments in
 * `<tmp>/denki-calls.log` (one line a call) and its environment (`export -p`) in
 * `<tmp>/denki-env.log`, and execs bin/denki.
 */
import { CONTAINER_REQS } from "./container.ts";
import { BUSYBOX_IMAGE, mountsUnder, testImages } from "./containerd.ts";
import { cgroupsNamed, emptyAndRemove } from "./cgroup_cleanup.ts";
import { LAUNCHER, type RunResult } from "./denki.ts";
import { program, type Requirement } from "./requires.ts";
import { exists } from "./fs.ts";
import { withHarness } from "./harness.ts";

/** The seccomp profile podman applies by default (Debian: golang-github-containers-common). */
export const SECCOMP_PROFILE = "/usr/share/containers/seccomp.json";

/** The image every instance loads (tests/support/containerd.ts builds its tarball). */
export const IMAGE = BUSYBOX_IMAGE;

const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Host paths podman (or a runtime) uses when nothing moves them; none may appear or change. */
const WATCHED = [
  "/run/containers",
  "/run/libpod",
  "/run/crun",
  "/run/netns",
  "/var/lib/containers",
  "/var/lib/cni",
  "/etc/cni",
  "/etc/containers/networks",
  "/dev/shm/libpod_lock",
];

/** Requirement: a file must exist (`pkg` provides it). */
function file(path: string, pkg: string): Requirement {
  return exists(path) ? undefined : `${path} is missing (${pkg})`;
}

/** What the podman tests need: root, busybox, podman, conmon, util-linux, the profile. */
export const PODMAN_REQS: Requirement[] = [
  ...CONTAINER_REQS,
  program("podman"),
  program("conmon"),
  program("unshare"),
  program("nsenter"),
  program("tar"),
  file(SECCOMP_PROFILE, "golang-github-containers-common"),
];

/** The ulimits podman must ask for here: this machine's root lacks CAP_SYS_RESOURCE. */
export const ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"];

let instances = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function kill(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Quotes `s` for sh. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Pids (other than this process) any of whose arguments contains `needle`. */
export function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      const args = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      if (args.some((a) => a.includes(needle))) out.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A recursive listing of `path` (names, types, sizes), or "absent"; to compare before/after. */
export function snapshot(path: string): string {
  if (!exists(path)) return "absent";
  const out: string[] = [];
  const walk = (p: string) => {
    const st = Deno.lstatSync(p);
    out.push(`${p} ${st.isDirectory ? "d" : st.isSymlink ? "l" : "f"} ${st.size}`);
    if (st.isDirectory) { for (const e of Deno.readDirSync(p)) walk(`${p}/${e.name}`); }
  };
  walk(path);
  return out.sort().join("\n");
}

/** Options of one podman call. */
export interface PodmanOptions {
  /** Extra environment for podman (on top of PATH, CONTAINERS_CONF and TMPDIR). */
  env?: Record<string, string>;
  /** Killed (by pid) after this long; the result then has status 124. */
  timeoutMs?: number;
}

/** One wrapper call: denki's arguments. */
export type Call = string[];

/** One podman setup with its own storage, state, namespace and cgroup parent. */
export class Podman {
  /** The temp dir that holds everything of this instance. */
  readonly dir = Deno.makeTempDirSync({ prefix: "denki-podman-" });
  /** The cgroup parent name (one path component), unique per test process and instance. */
  readonly cgroupName = `denki-podman-${Deno.pid}-${instances++}`;
  /** The denki wrapper podman gets as `--runtime`. */
  readonly wrapper = `${this.dir}/bin/denki`;
  /** Each denki call's arguments, one line per call. */
  readonly callsLog = `${this.dir}/denki-calls.log`;
  /** Each denki call's environment, as `export -p` prints it. */
  readonly envLog = `${this.dir}/denki-env.log`;
  /** denki's state root (its default, /run/denki, in the private namespace) seen from here. */
  readonly denkiRoot = `${this.dir}/run/denki`;
  /** What `--runtime` names: the denki wrapper, or another runtime to compare with. */
  runtime = this.wrapper;
  /** What `podman load` printed. */
  loadOutput = "";
  #holder: Deno.ChildProcess | undefined;
  #watched = new Map(WATCHED.map((p) => [p, snapshot(p)] as const));
  #tmpBefore = new Set(tmpEntries());

  /** The holder's pid: `nsenter --target` it to be where podman runs. */
  get holderPid(): number | undefined {
    return this.#holder?.pid;
  }

  /** Options every `podman run` (and `create`) of the tests gets. */
  get runOptions(): string[] {
    return [
      "--pull",
      "never",
      "--network",
      "none",
      "--cgroup-parent",
      `/${this.cgroupName}`,
      ...ULIMITS,
    ];
  }

  /** podman's global options: everything it stores goes to the temp dir. */
  get globalOptions(): string[] {
    return [
      "--root",
      `${this.dir}/root`,
      "--runroot",
      `${this.dir}/runroot`,
      "--tmpdir",
      `${this.dir}/tmp`,
      "--storage-driver",
      "vfs",
      "--cgroup-manager",
      "cgroupfs",
      "--events-backend",
      "file",
      "--network-config-dir",
      `${this.dir}/netconf`,
      "--runtime",
      this.runtime,
    ];
  }

  /** The environment podman runs with. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: HOST_PATH,
      CONTAINERS_CONF: `${this.dir}/containers.conf`,
      // Temp space for image copies. (podman does not pass it on: conmon still makes its
      // console sockets, /tmp/conmon-term.*, in /tmp, and removes them.)
      TMPDIR: `${this.dir}/tmp`,
      ...extra,
    };
  }

  /** Creates the directories, wrapper and config, starts the namespace and loads the image. */
  async start(): Promise<void> {
    const dirs = [
      "bin",
      "root",
      "runroot",
      "tmp",
      "netconf",
      "run",
      "var-lib/upper",
      "var-lib/work",
    ];
    for (const d of dirs) Deno.mkdirSync(`${this.dir}/${d}`, { recursive: true });
    Deno.writeTextFileSync(
      this.wrapper,
      [
        "#!/bin/sh",
        "# Run by conmon (and podman) with podman's environment, which has no Deno on PATH.",
        `printf '%s\\n' "$*" >> ${shQuote(this.callsLog)}`,
        `{ echo "## $*"; export -p; } >> ${shQuote(this.envLog)}`,
        `DENKI_DENO=${shQuote(Deno.execPath())}`,
        "export DENKI_DENO",
        `exec ${shQuote(LAUNCHER)} "$@"`,
        "",
      ].join("\n"),
    );
    Deno.chmodSync(this.wrapper, 0o755);
    Deno.writeTextFileSync(`${this.dir}/containers.conf`, this.#config());
    this.#holder = new Deno.Command("unshare", {
      args: [
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        [
          'mount --bind "$1/run" /run',
          // An overlay keeps the host's /var/lib visible; where overlayfs cannot stack on the
          // temp dir's file system, an empty /var/lib does too (podman needs nothing there).
          'if ! mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$1/var-lib/upper,workdir=$1/var-lib/work" /var/lib; then mount --bind "$1/var-lib/upper" /var/lib; fi',
          "exec sleep infinity",
        ].join(" && "),
        "sh",
        this.dir,
      ],
      clearEnv: true,
      env: { PATH: HOST_PATH },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Ready once the namespace has both mounts (and sh has become sleep).
    const end = Date.now() + 10_000;
    for (;;) {
      const exited = await Promise.race([this.#holder.status, sleep(20).then(() => undefined)]);
      if (exited !== undefined) {
        const err = await new Response(this.#holder.stderr).text();
        this.#holder = undefined;
        throw new Error(`the namespace holder exited with ${exited.code}: ${err}`);
      }
      try {
        const mounts = Deno.readTextFileSync(`/proc/${this.#holder.pid}/mountinfo`);
        const comm = Deno.readTextFileSync(`/proc/${this.#holder.pid}/comm`).trim();
        if (comm === "sleep" && / \/run /.test(mounts) && / \/var\/lib /.test(mounts)) break;
      } catch {
        // not there yet
      }
      if (Date.now() > end) throw new Error("the namespace holder did not come up");
    }
    const { busybox } = await testImages();
    const load = await this.podman(["load", "-i", busybox.tar]);
    this.loadOutput = load.stdout + load.stderr;
    if (load.code !== 0) throw new Error(`podman load: ${load.stderr}`);
  }

  #config(): string {
    const q = JSON.stringify;
    return [
      "[containers]",
      `seccomp_profile = ${q(SECCOMP_PROFILE)}`,
      "[engine]",
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${q(`${this.dir}/tmp/events.log`)}`,
      // "shm" would use the host-wide /dev/shm/libpod_lock.
      'lock_type = "file"',
      `tmp_dir = ${q(`${this.dir}/tmp`)}`,
      `static_dir = ${q(`${this.dir}/root/libpod`)}`,
      `volume_path = ${q(`${this.dir}/root/volumes`)}`,
      `image_copy_tmp_dir = ${q(`${this.dir}/tmp`)}`,
      'pull_policy = "never"',
      'runtime = "denki"',
      // podman passes `--log-format=json --log <file>` only to runtimes named here.
      'runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "denki"]',
      "[engine.runtimes]",
      `denki = [${q(this.wrapper)}]`,
      "[network]",
      `network_config_dir = ${q(`${this.dir}/netconf`)}`,
      "",
    ].join("\n");
  }

  /** The command line of one podman call: nsenter into the namespace, then podman. */
  argv(args: string[]): string[] {
    if (this.#holder === undefined) throw new Error("podman harness not started");
    return [
      "nsenter",
      "--target",
      String(this.#holder.pid),
      "--mount",
      "--",
      "podman",
      ...this.globalOptions,
      ...args,
    ];
  }

  /** Runs `podman <global options> ...args` in the namespace and collects its output. */
  async podman(args: string[], opts: PodmanOptions = {}): Promise<RunResult> {
    const [cmd, ...rest] = this.argv(args);
    return await runWithTimeout(cmd!, rest, this.env(opts.env), opts.timeoutMs ?? 60_000);
  }

  /** Every denki call so far, as argument lists. */
  calls(): Call[] {
    let text = "";
    try {
      text = Deno.readTextFileSync(this.callsLog);
    } catch {
      return [];
    }
    // The arguments podman passes hold no spaces (ids, flags, paths under the temp dir).
    return text.split("\n").filter((l) => l !== "").map((l) => l.split(" "));
  }

  /** The denki commands run for container `id`, in order (`create`, `start`, `kill 15`...). */
  commandsFor(id: string): string[] {
    const out: string[] = [];
    for (const call of this.calls()) {
      if (call.at(-1) === id || (call.at(-2) === id && call[0] === "kill")) {
        const cmd = call.find((a) => COMMANDS.has(a));
        if (cmd === "kill") out.push(`kill ${call.at(-1)}`);
        else if (cmd !== undefined) out.push(cmd);
      }
    }
    return out;
  }

  /** The ids of the containers denki was asked to create. */
  createdIds(): string[] {
    return this.calls().filter((c) => c.includes("create")).map((c) => c.at(-1)!);
  }

  /**
   * Stops everything this instance started and removes what it made. Returns what it had to
   * clean up beyond the temp dir (empty after a test that tidied up after itself).
   */
  async stop(): Promise<string[]> {
    const left: string[] = [];
    if (this.#holder !== undefined) {
      // Through podman first, the way its users clean up.
      const ps = await this.podman(["ps", "-aq"], { timeoutMs: 30_000 });
      const ids = ps.stdout.split("\n").filter((l) => l !== "");
      if (ids.length > 0) {
        left.push(...ids.map((id) => `podman container ${id}`));
        await this.podman(["rm", "-f", "-t", "0", "-a"], { timeoutMs: 60_000 });
      }
    }
    // conmon (`-r <wrapper>`), podman's exit commands (`--root <dir>/root`), denki processes
    // (bundle paths) and script(1) runs of this instance all name the temp dir. conmon runs
    // `podman container cleanup` after a container exits, on its own time: give those a moment.
    const end = Date.now() + 10_000;
    while (pidsMentioning(this.dir).length > 0 && Date.now() < end) await sleep(50);
    for (const pid of pidsMentioning(this.dir)) {
      left.push(`process ${pid}: ${cmdline(pid)}`);
      kill(pid, "SIGKILL");
    }
    // denki containers nobody deleted (the holder is still there to see its /run).
    if (exists(this.denkiRoot)) {
      for (const e of Deno.readDirSync(this.denkiRoot)) {
        if (!e.isDirectory || e.name.startsWith("@")) continue;
        left.push(`denki container ${e.name}`);
        if (this.#holder !== undefined) {
          await runWithTimeout(
            "nsenter",
            [
              "--target",
              String(this.#holder.pid),
              "--mount",
              "--",
              this.wrapper,
              "delete",
              "--force",
              e.name,
            ],
            this.env(),
            30_000,
          );
        }
      }
    }
    left.push(...(await this.#removeCgroups()));
    if (this.#holder !== undefined) {
      try {
        const inside = Deno.readTextFileSync(`/proc/${this.#holder.pid}/mountinfo`);
        for (const m of mountsUnder(inside, this.dir)) left.push(`mount in the namespace: ${m}`);
      } catch {
        // the holder died
      }
      // The namespace (and what is mounted in it) goes with its last process.
      kill(this.#holder.pid, "SIGKILL");
      await this.#holder.status;
      await this.#holder.stderr.cancel();
      this.#holder = undefined;
    }
    // Normally none: podman's mounts stay in the namespace. Lazily, and only ours.
    for (const m of mountsUnder(Deno.readTextFileSync("/proc/self/mountinfo"), this.dir)) {
      left.push(`host mount ${m}`);
      await new Deno.Command("umount", { args: ["-l", m], stderr: "null" }).output();
    }
    for (const [path, before] of this.#watched) {
      if (snapshot(path) !== before) left.push(`host path ${path} changed`);
    }
    for (const e of tmpEntries()) {
      if (!this.#tmpBefore.has(e) && e.startsWith("conmon-")) left.push(`/tmp/${e} appeared`);
    }
    Deno.removeSync(this.dir, { recursive: true });
    return left;
  }

  /** Thaws, empties (SIGKILL by pid) and removes the cgroup parent on every hierarchy. */
  async #removeCgroups(): Promise<string[]> {
    const dirs = cgroupsNamed(this.cgroupName);
    // podman leaves `<parent>` and `<parent>/conmon` behind by design: not a leak.
    const left = dirs.filter((d) => !/\/denki-podman-\d+-\d+(\/conmon)?$/.test(d))
      .map((d) => `cgroup ${d}`);
    const stuck = await emptyAndRemove(dirs);
    if (stuck.length > 0) throw new Error(`cannot remove cgroups: ${stuck.join(", ")}`);
    return left;
  }
}

const COMMANDS = new Set([
  "create",
  "start",
  "run",
  "kill",
  "delete",
  "state",
  "pause",
  "resume",
  "ps",
  "exec",
  "update",
  "events",
]);

function tmpEntries(): string[] {
  try {
    return [...Deno.readDirSync("/tmp")].map((e) => e.name);
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").join(" ").trim();
  } catch {
    return "(gone)";
  }
}

/**
 * Runs a program with `env` only, collecting its output; one that hangs is killed by pid after
 * `timeoutMs` and gets status 124. Its stdin is /dev/null, or with `holdStdin` a pipe that
 * stays open (and empty) until it exits: script(1) forwards an end of file on its stdin to
 * the terminal it made, where a raw-mode reader such as `podman -it` passes it on as a NUL.
 */
export async function runWithTimeout(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  holdStdin = false,
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    clearEnv: true,
    env,
    stdin: holdStdin ? "piped" : "null",
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
  if (holdStdin) await child.stdin.close();
  const dec = new TextDecoder();
  const stderr = dec.decode(out.stderr);
  return {
    code: timedOut ? 124 : out.code,
    stdout: dec.decode(out.stdout),
    stderr: timedOut ? `${stderr}(${cmd} killed after ${timeoutMs} ms)` : stderr,
  };
}

/**
 * Runs `fn` with a started podman setup that has the busybox image, and always stops it and
 * cleans up; a test that passed but left something behind fails with the list.
 */
export async function withPodman(fn: (p: Podman) => Promise<void>): Promise<void> {
  await withHarness("podman", async () => {
    const p = new Podman();
    try {
      await p.start();
    } catch (err) {
      await p.stop().catch((cleanup) => console.error(`podman harness: ${cleanup}`));
      throw err;
    }
    return p;
  }, fn);
}
