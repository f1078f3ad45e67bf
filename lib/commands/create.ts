/** `denki create ID`: prepare a container and leave its init waiting for `start`. */
import { createContainer } from "../lifecycle/create.ts";
import { CREATE_OPTIONS, createOptions } from "./create_options.ts";
import type { DenkiCommand } from "./globals.ts";

/** The `create` command. */
export const command: DenkiCommand<typeof CREATE_OPTIONS> = {
  description: "The container's process is not run until `start`; its stdio are those of this " +
    "command.",
  args: [{ name: "container-id" }],
  options: CREATE_OPTIONS,
  async run({ opts, args, globals }) {
    // The init lives on after this command exits; nothing here waits for it.
    await createContainer(
      globals.root,
      createOptions(args[0]!, opts, globals.systemdCgroup),
      await globals.executors.all(),
      globals.log,
    );
  },
};
