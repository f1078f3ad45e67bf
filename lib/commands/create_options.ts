/** The options `create` and `run` share, as runc has them. */
import type { OptionDefs } from "../cli/command.ts";
import type { CreateOptions } from "../lifecycle/create.ts";

/** create/run flags. */
export const CREATE_OPTIONS = {
  bundle: {
    type: "string",
    short: "b",
    valueName: "DIR",
    description: "bundle directory (default: current directory)",
  },
  "pid-file": { type: "string", valueName: "FILE", description: "write the init's pid to FILE" },
  "console-socket": {
    type: "string",
    valueName: "PATH",
    description: "unix socket that receives the pty master when process.terminal is true",
  },
  "no-pivot": {
    type: "boolean",
    description: "switch root with MS_MOVE and chroot instead of pivot_root",
  },
  "no-new-keyring": {
    type: "boolean",
    description: "keep the caller's session keyring instead of a new one for the container",
  },
  "preserve-fds": {
    type: "integer",
    valueName: "N",
    default: 0,
    min: 0,
    description: "pass file descriptors 3 .. 3+N-1 to the container",
  },
} as const satisfies OptionDefs;

/** Parsed create/run flags to CreateOptions. */
export function createOptions(
  id: string,
  opts: {
    bundle?: string | undefined;
    "pid-file"?: string | undefined;
    "console-socket"?: string | undefined;
    "no-pivot": boolean;
    "no-new-keyring": boolean;
    "preserve-fds": number;
  },
  systemdCgroup = false,
): CreateOptions {
  return {
    id,
    bundle: opts.bundle ?? ".",
    pidFile: opts["pid-file"],
    consoleSocket: opts["console-socket"],
    noPivot: opts["no-pivot"],
    noNewKeyring: opts["no-new-keyring"],
    preserveFds: opts["preserve-fds"],
    systemdCgroup,
  };
}
