/** `denki resume ID`: thaw a paused container. */
import { resumeContainer } from "../lifecycle/control.ts";
import type { DenkiCommand } from "./globals.ts";

/** The `resume` command. */
export const command: DenkiCommand<Record<never, never>> = {
  args: [{ name: "container-id" }],
  options: {},
  async run({ args, globals }) {
    await resumeContainer(globals.root, args[0]!);
  },
};
