/** Global options (as runc has them and callers pass them) and their resolved values. */
import { isRootless } from "../linux/rootless.ts";
import type { ExecutorRegistry } from "../executor_registry.ts";
import type { Command, OptionDefs, OptionValues } from "../cli/command.ts";
import { Logger } from "../log.ts";
import { resolve } from "../paths.ts";

/** Global option definitions; they go before the command name. */
export const GLOBAL_OPTIONS = {
  root: {
    type: "string",
    valueName: "DIR",
    description: "directory for container state (default /run/denki, or $XDG_RUNTIME_DIR/denki)",
  },
  log: {
    type: "string",
    valueName: "FILE",
    description: "write log records to FILE instead of stderr",
  },
  "log-format": {
    type: "string",
    valueName: "FORMAT",
    choices: ["text", "json"],
    default: "text",
    description: "log record format",
  },
  debug: { type: "boolean", description: "also write debug records" },
  "systemd-cgroup": {
    type: "boolean",
    description:
      "use systemd to manage cgroups (not supported yet: refused by commands that need cgroups)",
  },
  rootless: {
    type: "string",
    valueName: "true|false|auto",
    hidden: true,
    description: "accepted for runc compatibility",
  },
  criu: { type: "string", hidden: true, description: "accepted for runc compatibility" },
  version: { type: "boolean", short: "v", description: "print the version" },
} as const satisfies OptionDefs;

/** What every command receives about the global options. */
export interface Globals {
  /** State root directory. */
  root: string;
  log: Logger;
  debug: boolean;
  systemdCgroup: boolean;
  /** The executors, in the order they are asked (loaded on demand: main.ts registers them). */
  executors: ExecutorRegistry;
}

/**
 * The default state root: /run/denki for root, $XDG_RUNTIME_DIR/denki when rootless (another
 * user, or root of a user namespace someone else made, as under rootless podman).
 */
export function defaultRoot(rootless: boolean, xdgRuntimeDir: string | undefined): string {
  if (rootless && xdgRuntimeDir) return `${xdgRuntimeDir}/denki`;
  return "/run/denki";
}

/** Resolves parsed global options into Globals. */
export function resolveGlobals(
  opts: OptionValues<typeof GLOBAL_OPTIONS>,
  log: Logger,
  executors: ExecutorRegistry,
): Globals {
  const root = opts.root === undefined
    ? defaultRoot(isRootless(), Deno.env.get("XDG_RUNTIME_DIR"))
    : resolve(Deno.cwd(), opts.root);
  return { root, log, debug: opts.debug, systemdCgroup: opts["systemd-cgroup"], executors };
}

/** A logger configured from the global options. */
export function loggerFor(opts: OptionValues<typeof GLOBAL_OPTIONS>): Logger {
  return new Logger({
    file: opts.log,
    format: opts["log-format"] === "json" ? "json" : "text",
    debug: opts.debug,
  });
}

/** A denki command (a type only: commands import nothing from here at run time). */
export type DenkiCommand<O extends OptionDefs> = Command<O, Globals>;
