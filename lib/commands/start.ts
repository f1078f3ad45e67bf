/** `denki start ID`: run the process of a created container. */
import { startContainer } from "../lifecycle/start.ts";
import type { DenkiCommand } from "./globals.ts";

/** The `start` command. */
export const command: DenkiCommand<Record<never, never>> = {
  args: [{ name: "container-id" }],
  options: {},
  async run({ args, globals }) {
    await startContainer(globals.root, args[0]!, globals.log);
  },
};
