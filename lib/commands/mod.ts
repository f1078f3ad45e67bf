/**
 * The command table. Each command's module is loaded only when it runs, so a command's
 * start-up pays for its own code and nothing else.
 */
import type { Command, OptionDefs } from "../cli/command.ts";
import type { Globals } from "./globals.ts";

/** One row of the command table. */
export interface CommandEntry {
  name: string;
  /** One line for the command list and the top of the command's help. */
  summary: string;
  /** Internal commands are left out of the help. */
  hidden?: boolean;
  load(): Promise<Command<OptionDefs, Globals>>;
}

/** Every command denki has, in help order. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "spec",
    summary: "create a new config.json in the bundle",
    load: async () => (await import("./spec.ts")).command,
  },
  {
    name: "create",
    summary: "create a container (its process waits for start)",
    load: async () => (await import("./create.ts")).command,
  },
  {
    name: "start",
    summary: "run the process of a created container",
    load: async () => (await import("./start.ts")).command,
  },
  {
    name: "run",
    summary: "create and start a container",
    load: async () => (await import("./run.ts")).command,
  },
  {
    name: "kill",
    summary: "send a signal to a container (default SIGTERM)",
    load: async () => (await import("./kill.ts")).command,
  },
  {
    name: "delete",
    summary: "delete a container and the resources it holds",
    load: async () => (await import("./delete.ts")).command,
  },
  {
    name: "exec",
    summary: "run a new process in a running container",
    load: async () => (await import("./exec.ts")).command,
  },
  {
    name: "pause",
    summary: "freeze every process of a container",
    load: async () => (await import("./pause.ts")).command,
  },
  {
    name: "resume",
    summary: "thaw a paused container",
    load: async () => (await import("./resume.ts")).command,
  },
  {
    name: "ps",
    summary: "list the processes of a container",
    load: async () => (await import("./ps.ts")).command,
  },
  {
    name: "events",
    summary: "show resource usage and OOM events of a container",
    load: async () => (await import("./events.ts")).command,
  },
  {
    name: "update",
    summary: "change the resource limits of a running container",
    load: async () => (await import("./update.ts")).command,
  },
  {
    name: "state",
    summary: "output the state of a container",
    load: async () => (await import("./state.ts")).command,
  },
  {
    name: "list",
    summary: "list the containers under the state root",
    load: async () => (await import("./list.ts")).command,
  },
  {
    name: "features",
    summary: "show the runtime-spec features this denki implements",
    load: async () => (await import("./features.ts")).command,
  },
  {
    name: "init",
    summary: "the container init (started by create; not for direct use)",
    hidden: true,
    load: async () => (await import("./init.ts")).command,
  },
];

/** Finds a command by name. */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
