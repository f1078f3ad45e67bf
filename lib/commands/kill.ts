/** `denki kill ID [SIGNAL]`: send a signal to the container. */
import type { OptionDefs } from "../cli/command.ts";
import { DenkiError } from "../errors.ts";
import { killContainer } from "../lifecycle/kill.ts";
import { parseSignal } from "../plan/signals.ts";
import type { DenkiCommand } from "./globals.ts";

const options = {
  all: {
    type: "boolean",
    short: "a",
    description: "send the signal to every process in the container",
  },
} as const satisfies OptionDefs;

/** The `kill` command. */
export const command: DenkiCommand<typeof options> = {
  description: "SIGNAL is a name with or without SIG (KILL, SIGKILL) or a number; default SIGTERM.",
  args: [{ name: "container-id" }, { name: "signal", optional: true }],
  options,
  async run({ opts, args, globals }) {
    const text = args[1] ?? "SIGTERM";
    const signal = parseSignal(text);
    if (signal === undefined) throw new DenkiError(`unknown signal "${text}"`);
    await killContainer(globals.root, args[0]!, signal, opts.all);
  },
};
