/**
 * Test users for rootless tests: `withTestUser` makes a fresh system user with its own home
 * and XDG_RUNTIME_DIR (and, if asked, a 65536-id range in /etc/subuid and /etc/subgid), runs
 * the test, then kills what still runs as that uid, deletes the user and its dirs, and puts
 * /etc/subuid and /etc/subgid back byte for byte, also when the test throws. Needs root,
 * useradd/userdel (passwd) and setpriv (util-linux).
 *
 * Editing /etc/subuid is host-global: an exclusive flock on /etc (a directory every machine
 * has, so no lock file is left behind) serialises test processes, and within one process the
 * first user in snapshots the files and the last one out restores them.
 */
import { passwdEntries } from "../../lib/plan/passwd.ts";
import * as sc from "../../lib/sys/syscalls.ts";

/** A range of subordinate ids: [start, start + count). */
export interface IdRange {
  start: number;
  count: number;
}

/** What `TestUser.run` gives back. */
export interface RunResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  /** True when it was killed for running past its timeout. */
  timedOut: boolean;
}

/** Options of `TestUser.run`. */
export interface RunOptions {
  /** Added to the clean environment (PATH, HOME, XDG_RUNTIME_DIR, USER). */
  env?: Record<string, string>;
  /** Working directory; the user's home by default. */
  cwd?: string;
  /** Text fed to stdin (stdin is /dev/null otherwise). */
  stdin?: string;
  /** Killed (SIGKILL) after this long; 60 s by default. */
  timeoutMs?: number;
}

/** A user that exists only for one test. */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** A temp dir owned by the user, mode 0700. */
  home: string;
  /** A temp dir owned by the user, mode 0700, for XDG_RUNTIME_DIR. */
  runtimeDir: string;
  /** Its ranges in /etc/subuid and /etc/subgid (only with `subids: true`). */
  subuid?: IdRange;
  subgid?: IdRange;
  /** Runs `cmd` as the user with a clean environment; never throws for a failing program. */
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** How many subordinate ids a test user gets (what useradd gives a login user). */
export const SUBID_COUNT = 65536;

/** Subordinate ranges start at least here, clear of the 100000.. ranges tests map by hand. */
const SUBID_FLOOR = 16 * SUBID_COUNT;

const SUB_FILES = ["/etc/subuid", "/etc/subgid"] as const;
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

let serial = 0;

// ---- the lock on /etc and the snapshot of the subordinate-id files ----

let holders = 0;
let lockFd = -1;
let snapshot = new Map<string, Uint8Array | undefined>();

function readIfExists(path: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function enter(): Promise<void> {
  if (holders++ > 0) return;
  try {
    lockFd = sc.open("/etc", sc.O_RDONLY | sc.O_DIRECTORY | sc.O_CLOEXEC);
    // Poll rather than block: a blocking flock would stall this process's event loop.
    while (!sc.flockExclusive(lockFd, false, "/etc")) await new Promise((r) => setTimeout(r, 100));
    snapshot = new Map(SUB_FILES.map((f) => [f, readIfExists(f)]));
  } catch (err) {
    holders--;
    if (lockFd >= 0) sc.close(lockFd);
    lockFd = -1;
    throw err;
  }
}

function leave(): void {
  if (--holders > 0) return;
  try {
    for (const [file, bytes] of snapshot) {
      if (bytes !== undefined) Deno.writeFileSync(file, bytes);
      else Deno.removeSync(file); // it did not exist before
    }
  } finally {
    sc.close(lockFd); // releases the flock
    lockFd = -1;
  }
}

/** Ranges of every line of /etc/subuid and /etc/subgid, as `[start, end)` pairs. */
function usedRanges(): IdRange[] {
  const out: IdRange[] = [];
  for (const file of SUB_FILES) {
    const bytes = readIfExists(file);
    if (bytes === undefined) continue;
    for (const line of new TextDecoder().decode(bytes).split("\n")) {
      const f = line.trim().split(":");
      if (f.length === 3 && /^\d+$/.test(f[1]!) && /^\d+$/.test(f[2]!)) {
        out.push({ start: Number(f[1]), count: Number(f[2]) });
      }
    }
  }
  return out;
}

/** Appends `line` to `file` (creating it 0644), on a line of its own. */
function appendLine(file: string, line: string): void {
  const old = readIfExists(file);
  const sep = old !== undefined && old.length > 0 && old[old.length - 1] !== 0x0a ? "\n" : "";
  Deno.writeTextFileSync(file, `${sep}${line}\n`, { append: true, mode: 0o644 });
}

/** Removes the exact line `line` from `file`, if there. */
function removeLine(file: string, line: string): void {
  const old = readIfExists(file);
  if (old === undefined) return;
  const lines = new TextDecoder().decode(old).split("\n");
  const i = lines.indexOf(line);
  if (i < 0) return;
  lines.splice(i, 1);
  Deno.writeTextFileSync(file, lines.join("\n"));
}

// ---- users and their processes ----

let queue: Promise<unknown> = Promise.resolve();

/** Runs a program, one at a time in this process (useradd and userdel lock /etc/passwd). */
function sh(cmd: string, args: string[]): Promise<{ ok: boolean; err: string }> {
  const next = queue.then(() => shNow(cmd, args));
  queue = next.catch(() => {});
  return next;
}

async function shNow(cmd: string, args: string[]): Promise<{ ok: boolean; err: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    clearEnv: true,
    env: { PATH },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { ok: out.success, err: new TextDecoder().decode(out.stderr).trim() };
}

/**
 * Pids of live processes whose real, effective, saved or fs uid is `uid`. Zombies are left
 * out: they are dead already, and one reparented to the machine's init may wait a while there.
 */
export function pidsOfUid(uid: number): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let status: string;
    try {
      status = Deno.readTextFileSync(`/proc/${e.name}/status`);
    } catch {
      continue; // exited meanwhile
    }
    if (/^State:\s+Z/m.test(status)) continue;
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
    if (uids.includes(uid)) pids.push(Number(e.name));
  }
  return pids;
}

/** SIGKILLs every process of `uid` until none is left (a dying parent may still fork). */
async function killAllOf(uid: number): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = pidsOfUid(uid);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`processes of uid ${uid} survive SIGKILL: ${pidsOfUid(uid).join(", ")}`);
}

/** A temp dir owned by the user, mode 0700. */
function ownedDir(prefix: string, uid: number, gid: number): string {
  const dir = Deno.makeTempDirSync({ prefix });
  Deno.chownSync(dir, uid, gid);
  Deno.chmodSync(dir, 0o700);
  return dir;
}

async function runAs(
  u: { name: string; uid: number; gid: number; home: string; runtimeDir: string },
  cmd: string,
  args: readonly string[],
  opts: RunOptions,
): Promise<RunResult> {
  const child = new Deno.Command("setpriv", {
    args: [`--reuid=${u.uid}`, `--regid=${u.gid}`, "--init-groups", "--", cmd, ...args],
    clearEnv: true,
    env: { PATH, HOME: u.home, XDG_RUNTIME_DIR: u.runtimeDir, USER: u.name, ...opts.env },
    cwd: opts.cwd ?? u.home,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // exited just now
    }
  }, opts.timeoutMs ?? 60_000);
  try {
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(opts.stdin)).catch(() => {});
      await w.close().catch(() => {});
    }
    const out = await child.output();
    const text = new TextDecoder();
    return {
      code: out.code,
      signal: out.signal,
      stdout: text.decode(out.stdout),
      stderr: text.decode(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Creates the user; its name is `denki-t<pid>-<n>`, n counting past names already taken. */
async function addUser(home: string): Promise<{ name: string; uid: number; gid: number }> {
  for (let tries = 0; tries < 20; tries++) {
    const name = `denki-t${Deno.pid}-${++serial}`;
    const r = await sh("useradd", [
      "--system",
      "--no-create-home",
      "--home-dir",
      home,
      "--shell",
      "/usr/sbin/nologin",
      "--user-group",
      name,
    ]);
    if (!r.ok) {
      if (r.err.includes("already exists")) continue; // left by a crashed run with our pid
      throw new Error(`useradd ${name}: ${r.err}`);
    }
    for (const e of passwdEntries(Deno.readTextFileSync("/etc/passwd"))) {
      if (e.name === name) return { name, uid: e.uid, gid: e.gid };
    }
    throw new Error(`useradd ${name} succeeded but /etc/passwd has no entry`);
  }
  throw new Error("useradd: no free test user name");
}

/**
 * Runs `fn` with a fresh test user (see the module comment), then removes every trace of it.
 * With `subids`, the user gets SUBID_COUNT ids in /etc/subuid and /etc/subgid, above every
 * range already there. Root only.
 */
export async function withTestUser(
  fn: (u: TestUser) => Promise<void>,
  opts: { subids?: boolean } = {},
): Promise<void> {
  if (Deno.uid() !== 0) throw new Error("withTestUser needs root");
  await enter();
  let home: string | undefined;
  let runtimeDir: string | undefined;
  let made: { name: string; uid: number; gid: number } | undefined;
  const lines: string[] = [];
  let failure: { err: unknown } | undefined;
  try {
    // The home is made first so that /etc/passwd names it too (for tools that look there).
    home = Deno.makeTempDirSync({ prefix: "denki-home-" });
    made = await addUser(home);
    const { name, uid, gid } = made;
    Deno.chownSync(home, uid, gid);
    Deno.chmodSync(home, 0o700);
    runtimeDir = ownedDir("denki-xdg-", uid, gid);
    const base = { name, uid, gid, home, runtimeDir };
    const user: TestUser = { ...base, run: (cmd, args, o = {}) => runAs(base, cmd, args, o) };
    if (opts.subids) {
      const top = Math.max(SUBID_FLOOR, ...usedRanges().map((r) => r.start + r.count));
      const range = { start: Math.ceil(top / SUBID_COUNT) * SUBID_COUNT, count: SUBID_COUNT };
      const line = `${name}:${range.start}:${range.count}`;
      lines.push(line);
      for (const file of SUB_FILES) appendLine(file, line);
      user.subuid = range;
      user.subgid = { ...range };
    }
    await fn(user);
  } catch (err) {
    failure = { err };
  }
  // Every step runs whatever failed before it; the test's own error wins over cleanup's.
  const problems: string[] = [];
  const step = async (what: () => void | Promise<void>) => {
    try {
      await what();
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  };
  if (made !== undefined) {
    const { name, uid } = made;
    // Processes go before the user: userdel refuses a user that still runs.
    await step(() => killAllOf(uid));
    await step(async () => {
      const r = await sh("userdel", [name]);
      if (!r.ok) throw new Error(`userdel ${name}: ${r.err}`);
    });
  }
  for (const dir of [runtimeDir, home]) {
    if (dir !== undefined) await step(() => Deno.removeSync(dir, { recursive: true }));
  }
  // Our own lines go now (another user of this process may still hold the files); the last
  // user out puts back the exact bytes.
  for (const line of lines) for (const f of SUB_FILES) await step(() => removeLine(f, line));
  await step(leave);
  if (failure !== undefined) {
    if (problems.length > 0) console.error(`withTestUser cleanup: ${problems.join("; ")}`);
    throw failure.err;
  }
  if (problems.length > 0) throw new Error(`withTestUser cleanup: ${problems.join("; ")}`);
}
