/**
 * `denki exec ID COMMAND [ARGS...]` (or `--process FILE`): run a new process in a running
 * container, as `runc exec` does. Without --process the container's own `process` is the
 * base: the flags change its args, cwd, env (appended), user, capabilities and the rest.
 * Its environment is that process's `env`, never the caller's.
 *
 * Exit status: the process's own, or 255 when exec itself fails (unknown container, stopped
 * or paused container, missing program, unreadable --process, ...), as runc exits, so that a
 * caller can tell a runtime failure from a process that exited 1. Command-line errors (unknown
 * flag, bad flag value, no container id) are found before this command runs and exit 1, as
 * runc's do.
 */
import type { CommandContext, OptionDefs } from "../cli/command.ts";
import { causeOf, DenkiError, UsageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { execInContainer } from "../lifecycle/exec.ts";
import type { Process, Spec } from "../spec/config.ts";
import { parseProcess } from "../spec/parse.ts";
import type { DenkiCommand, Globals } from "./globals.ts";
import { readAllStdin } from "./stdin.ts";

const options = {
  process: {
    type: "string",
    short: "p",
    valueName: "FILE",
    description: "a JSON runtime-spec process to run (- for stdin); replaces COMMAND",
  },
  "console-socket": {
    type: "string",
    valueName: "PATH",
    description: "unix socket that receives the pty master (with --tty)",
  },
  cwd: { type: "string", valueName: "DIR", description: "working directory in the container" },
  env: { type: "strings", short: "e", valueName: "KEY=VALUE", description: "add a variable" },
  tty: { type: "boolean", short: "t", description: "give the process a terminal" },
  user: { type: "string", short: "u", valueName: "UID[:GID]", description: "run as this user" },
  "additional-gids": {
    type: "strings",
    short: "g",
    valueName: "GID",
    description: "add a supplementary group",
  },
  cap: { type: "strings", short: "c", valueName: "CAP", description: "add a capability" },
  "no-new-privs": { type: "boolean", description: "set no_new_privs for the process" },
  detach: { type: "boolean", short: "d", description: "return once the process runs" },
  "pid-file": { type: "string", valueName: "FILE", description: "write the process's pid here" },
  "preserve-fds": {
    type: "integer",
    default: 0,
    min: 0,
    description: "pass file descriptors 3 .. 3+N-1 to the process",
  },
  "ignore-paused": { type: "boolean", description: "exec even into a paused container" },
  "process-label": { type: "string", hidden: true, description: "SELinux label (unsupported)" },
  apparmor: { type: "string", hidden: true, description: "AppArmor profile (unsupported)" },
  cgroup: { type: "strings", hidden: true, description: "sub-cgroup to join (unsupported)" },
} as const satisfies OptionDefs;

type Opts = {
  cwd?: string | undefined;
  env: string[];
  tty: boolean;
  user?: string | undefined;
  "additional-gids": string[];
  cap: string[];
  "no-new-privs": boolean;
};

const ID = /^\d+$/;

/** The container's process changed by exec's flags (what runc does without --process). */
export function processFromFlags(base: Process, args: string[], o: Opts): Process {
  const p: Process = structuredClone(base);
  p.args = args;
  p.terminal = o.tty;
  if (o.cwd !== undefined) p.cwd = o.cwd;
  if (o.env.length > 0) p.env = [...(p.env ?? []), ...o.env];
  if (o.user !== undefined) {
    const [uid, gid, extra] = o.user.split(":");
    if (!ID.test(uid ?? "") || (gid !== undefined && !ID.test(gid)) || extra !== undefined) {
      throw new DenkiError(`--user ${JSON.stringify(o.user)}: must be UID or UID:GID (numbers)`);
    }
    // As runc: without :GID the process keeps the container's group.
    p.user = {
      ...p.user,
      uid: Number(uid),
      gid: gid === undefined ? p.user?.gid ?? 0 : Number(gid),
    };
  }
  if (o["additional-gids"].length > 0) {
    const gids = o["additional-gids"].map((g) => {
      if (!ID.test(g)) throw new DenkiError(`--additional-gids ${JSON.stringify(g)}: not a number`);
      return Number(g);
    });
    p.user = {
      uid: 0,
      gid: 0,
      ...p.user,
      additionalGids: [...(p.user?.additionalGids ?? []), ...gids],
    };
  }
  if (o.cap.length > 0) {
    const caps = { ...p.capabilities };
    for (const set of ["bounding", "effective", "permitted"] as const) {
      caps[set] = [...new Set([...(caps[set] ?? []), ...o.cap])];
    }
    p.capabilities = caps;
  }
  if (o["no-new-privs"]) p.noNewPrivileges = true;
  return p;
}

function readProcessFile(path: string): Process {
  const file = path === "-" ? "standard input" : path;
  let text: string;
  try {
    text = path === "-" ? new TextDecoder().decode(readAllStdin()) : Deno.readTextFileSync(path);
  } catch (err) {
    throw new DenkiError(`cannot read ${file}: ${causeOf(err)}`);
  }
  return parseProcess(text, file);
}

/** runc's status for a failed exec (`fatalWithCode(err, 255)` in its exec.go). */
export const EXEC_FAILED = 255;

/** Gives a failure of exec runc's status; a usage error keeps its 1. */
export function execFailure(err: unknown, log?: Logger): DenkiError {
  if (err instanceof UsageError) return err;
  let e: DenkiError;
  if (err instanceof DenkiError) {
    e = err;
  } else {
    // A bug in denki is still a failed exec: keep the stack for --debug.
    const cause = err instanceof Error ? err : new Error(String(err));
    log?.debug(cause.stack ?? "");
    e = new DenkiError(`internal error: ${cause.message}`);
  }
  e.exitCode = EXEC_FAILED;
  return e;
}

/** The `exec` command. */
export const command: DenkiCommand<typeof options> = {
  description: "Options after the container id belong to the command.",
  args: [{ name: "container-id" }, { name: "command", optional: true, variadic: true }],
  options,
  stopAtFirstArg: true,
  async run(ctx) {
    try {
      return await execCommand(ctx);
    } catch (err) {
      throw execFailure(err, ctx.globals.log);
    }
  },
};

async function execCommand(
  { opts, args, globals }: CommandContext<typeof options, Globals>,
): Promise<number> {
  const [id, ...command] = args;
  if (opts.apparmor !== undefined) throw new DenkiError("--apparmor: AppArmor is not supported");
  if (opts["process-label"] !== undefined) {
    throw new DenkiError("--process-label: SELinux is not supported");
  }
  if (opts.cgroup.length > 0) throw new DenkiError("--cgroup: sub-cgroups are not supported");
  if (opts.process === undefined && command.length === 0) {
    throw new DenkiError("exec: give a command to run, or --process FILE");
  }
  if (opts.process !== undefined && command.length > 0) {
    throw new DenkiError("exec: give either a command or --process, not both");
  }
  const fromFile = opts.process === undefined ? undefined : readProcessFile(opts.process);
  const code = await execInContainer(globals.root, id!, {
    process: (spec: Spec) => {
      if (fromFile !== undefined) return fromFile;
      if (spec.process === undefined) throw new DenkiError("the container has no process");
      return processFromFlags(spec.process, command, opts);
    },
    detach: opts.detach,
    pidFile: opts["pid-file"],
    preserveFds: opts["preserve-fds"],
    ignorePaused: opts["ignore-paused"],
    consoleSocket: opts["console-socket"],
  }, globals.log);
  return code;
}
