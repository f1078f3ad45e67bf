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
];

/** Finds a command by name. */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
