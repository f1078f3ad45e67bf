/** `denki exec-init FD` (hidden): the process `exec` starts in a container. */
import { runExecInit } from "../linux/exec_init.ts";
import type { DenkiCommand } from "./globals.ts";

/** The `exec-init` command. */
export const command: DenkiCommand<Record<never, never>> = {
  args: [{ name: "sync-fd" }],
  options: {},
  async run({ args, globals }) {
    await runExecInit(Number(args[0]), await globals.executors());
  },
};
