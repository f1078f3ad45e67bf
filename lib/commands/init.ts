/** `denki init FD` (hidden): the container init, started by `create` only. */
import { runInit } from "../linux/init.ts";
import type { DenkiCommand } from "./globals.ts";

/** The `init` command. */
export const command: DenkiCommand<Record<never, never>> = {
  args: [{ name: "sync-fd" }],
  options: {},
  async run({ args, globals }) {
    // Nothing is loaded up front: runInit loads only the executor `create` chose.
    await runInit(Number(args[0]), globals.executors);
  },
};
