/**
 * The `HOME` a container process gets when `process.env` has none, from the container's own
 * /etc/passwd, as runc sets it (libcontainer/init_linux.go `setupUser`, with
 * `user.GetExecUserPath`): the home directory of the first entry for the process's uid; "/"
 * when no entry has that uid or the file is missing. crun (`set_home_env`) and youki
 * (`set_home_env_if_not_exists`) agree on the entry, and crun on "/"; youki leaves HOME unset
 * without an entry. An entry with an empty home gives an empty HOME under all three.
 *
 * The file comes from the image, so it is untrusted: only the first PASSWD_READ_LIMIT
 * characters are looked at, over-long and malformed lines are skipped (runc would read a
 * garbage line as uid 0, and fail the container on a line over 64 KiB), and nothing here
 * throws. Pure: the caller reads the file (inside the container's root) and passes its text.
 */

/** How much of a passwd file is read and parsed; the rest is ignored. */
export const PASSWD_READ_LIMIT = 1 << 20;

/** Longer lines are skipped (runc's line scanner stops at 64 KiB). */
const MAX_LINE = 64 * 1024;

/** The largest uid the kernel has (uid_t is 32 bits; -1 is "no uid"). */
const MAX_UID = 0xffff_fffe;

/** One well-formed passwd line. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

const ID = /^\d{1,10}$/;

/** The well-formed entries of passwd text, in order, within PASSWD_READ_LIMIT. */
export function* passwdEntries(text: string): Generator<PasswdEntry> {
  const body = text.length > PASSWD_READ_LIMIT ? text.slice(0, PASSWD_READ_LIMIT) : text;
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf("\n", start);
    if (end < 0) end = body.length;
    const raw = body.slice(start, end);
    start = end + 1;
    if (raw.length > MAX_LINE) continue;
    const line = raw.trim();
    // Comments, and NIS compat lines ("+name", "-name", "+::::::") that name no local user.
    if (line === "" || line[0] === "#" || line[0] === "+" || line[0] === "-") continue;
    // name:password:uid:gid:gecos:home[:shell]; a missing shell is tolerated, as runc does.
    const f = line.split(":");
    if (f.length < 6 || f[0] === "") continue;
    const [name, , uidText, gidText, , home, ...shell] = f as [string, ...string[]];
    if (!ID.test(uidText!) || !ID.test(gidText!)) continue;
    const uid = Number(uidText);
    const gid = Number(gidText);
    if (uid > MAX_UID || gid > MAX_UID) continue;
    // An environment string cannot hold a NUL.
    if (home!.includes("\0")) continue;
    yield { name, uid, gid, home: home!, shell: shell.join(":") };
  }
}

/** The first entry for `uid`, if any. */
export function passwdEntry(text: string | undefined, uid: number): PasswdEntry | undefined {
  if (text === undefined) return undefined;
  for (const entry of passwdEntries(text)) if (entry.uid === uid) return entry;
  return undefined;
}

/**
 * The HOME runc gives a process of `uid` whose env has none: the home of the first passwd
 * entry for the uid (empty if the entry's is), else "/". `text` undefined: no /etc/passwd.
 */
export function passwdHome(text: string | undefined, uid: number): string {
  return passwdEntry(text, uid)?.home ?? "/";
}

/** The value a process would see for HOME: the last HOME= entry wins, as in runc's env. */
function homeOf(env: readonly string[]): string | undefined {
  let home: string | undefined;
  for (const e of env) if (e.startsWith("HOME=")) home = e.slice(5);
  return home;
}

/**
 * True when the env needs a HOME from passwd: it has no HOME= entry, or (runc's and youki's
 * rule: `os.Getenv("HOME") == ""`) the one that counts is empty.
 */
export function needsHome(env: readonly string[]): boolean {
  return (homeOf(env) ?? "") === "";
}

/**
 * `env` with `HOME=home` when it needs one (see `needsHome`), otherwise a copy of it. An empty
 * HOME= entry is replaced where the first HOME= entry stood (and other HOME= entries dropped,
 * so no earlier one shadows it), which is the env runc's setenv leaves; else it is appended.
 */
export function withHome(env: readonly string[], home: string): string[] {
  if (!needsHome(env)) return [...env];
  const entry = `HOME=${home}`;
  const first = env.findIndex((e) => e.startsWith("HOME="));
  if (first < 0) return [...env, entry];
  return env.flatMap((e, i) => i === first ? [entry] : e.startsWith("HOME=") ? [] : [e]);
}
