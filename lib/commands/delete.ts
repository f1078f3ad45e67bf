/** `denki delete ID`: remove a container and everything it holds. */
import type { OptionDefs } from "../cli/command.ts";
import { deleteContainer } from "../lifecycle/stop.ts";
import type { DenkiCommand } from "./globals.ts";

const options = {
  force: {
    type: "boolean",
    short: "f",
    description: "kill a running container first; a missing one is not an error",
  },
} as const satisfies OptionDefs;

/** The `delete` command. */
export const command: DenkiCommand<typeof options> = {
  args: [{ name: "container-id" }],
  options,
  async run({ opts, args, globals }) {
    await deleteContainer(globals.root, args[0]!, opts.force, globals.log);
  },
};
