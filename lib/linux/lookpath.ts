/**
 * Finding the workload's program and its HOME inside a container root, through an fd of that
 * root: every path is resolved by the kernel with openat2(RESOLVE_IN_ROOT), so symlinks and
 * ".." in the image stay inside it whether the caller is the init (after the root switch) or
 * `exec` looking in from the host.
 */
import { DenkiError } from "../errors.ts";
import { needsHome, PASSWD_READ_LIMIT, passwdHome, withHome } from "../plan/passwd.ts";
import * as sc from "../sys/syscalls.ts";

/** The search path when process.env has no PATH (what runc's Go lookup falls back to). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The PATH value of an environment list, or the default. */
export function pathOf(env: readonly string[]): string {
  for (let i = env.length - 1; i >= 0; i--) {
    if (env[i]!.startsWith("PATH=")) return env[i]!.slice(5);
  }
  return DEFAULT_PATH;
}

const RESOLVE = sc.RESOLVE_IN_ROOT | sc.RESOLVE_NO_MAGICLINKS;

/** The mode of `path` (symlinks followed inside the root), or undefined when it is missing. */
function modeIn(root: number, path: string, cwd: string): number | undefined {
  const rel = path.startsWith("/") ? path : `${cwd}/${path}`;
  const r = sc.tryOpenat2(root, rel, sc.O_PATH | sc.O_CLOEXEC, RESOLVE);
  if (r.fd < 0) return undefined;
  try {
    return sc.statMode(r.fd, "", sc.AT_EMPTY_PATH);
  } finally {
    sc.close(r.fd);
  }
}

function executable(mode: number | undefined): boolean {
  return mode !== undefined && (mode & sc.S_IFMT) === sc.S_IFREG && (mode & 0o111) !== 0;
}

/**
 * Finds args[0] as execvp would inside the root: a name with a slash is used as is (relative
 * to `cwd`), others are searched in PATH. Messages match runc's, which podman classifies.
 */
export function lookPathIn(root: number, name: string, env: readonly string[], cwd = "/"): string {
  if (name.includes("/")) {
    const mode = modeIn(root, name, cwd);
    if (mode === undefined) {
      throw new DenkiError(`exec: "${name}": stat ${name}: no such file or directory`);
    }
    if (!executable(mode)) throw new DenkiError(`exec: "${name}": permission denied`);
    return name;
  }
  for (const dir of pathOf(env).split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${name}`;
    if (executable(modeIn(root, candidate, cwd))) return candidate;
  }
  throw new DenkiError(`exec: "${name}": executable file not found in $PATH`);
}

/** The text of a file inside the root, at most `limit` bytes; undefined when it is missing. */
export function readIn(root: number, path: string, limit: number): string | undefined {
  const r = sc.tryOpenat2(root, path, sc.O_RDONLY | sc.O_CLOEXEC | sc.O_NONBLOCK, RESOLVE);
  if (r.fd < 0) return undefined;
  try {
    // A fifo or a device in the image must not block or feed us forever.
    if ((sc.statMode(r.fd, "", sc.AT_EMPTY_PATH)! & sc.S_IFMT) !== sc.S_IFREG) return undefined;
    const buf = new Uint8Array(limit);
    let got = 0;
    while (got < limit) {
      const n = sc.read(r.fd, buf.subarray(got));
      if (n === 0) break;
      got += n;
    }
    return new TextDecoder().decode(buf.subarray(0, got));
  } catch {
    return undefined;
  } finally {
    sc.close(r.fd);
  }
}

/**
 * The environment with HOME from the container's own /etc/passwd when it has none, as runc,
 * crun and youki set it; never from denki's environment.
 */
export function envWithHome(root: number, env: readonly string[], uid: number): string[] {
  if (!needsHome(env)) return [...env];
  return withHome(env, passwdHome(readIn(root, "/etc/passwd", PASSWD_READ_LIMIT), uid));
}

/** Runs `fn` with an O_PATH fd of this process's root. */
export function withRoot<T>(fn: (root: number) => T): T {
  const root = sc.open("/", sc.O_PATH | sc.O_DIRECTORY | sc.O_CLOEXEC);
  try {
    return fn(root);
  } finally {
    sc.close(root);
  }
}
