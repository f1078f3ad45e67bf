/** `denki pause ID`: freeze every process of the container. */
import { pauseContainer } from "../lifecycle/control.ts";
import type { DenkiCommand } from "./globals.ts";

/** The `pause` command. */
export const command: DenkiCommand<Record<never, never>> = {
  args: [{ name: "container-id" }],
  options: {},
  async run({ args, globals }) {
    await pauseContainer(globals.root, args[0]!);
  },
};
