/**
 * `denki run ID`: create and start a container; in the foreground, forward signals to it,
 * wait for it, delete it and exit with its status (128+N when signal N killed it).
 */
import type { OptionDefs } from "../cli/command.ts";
import { createContainer } from "../lifecycle/create.ts";
import { startContainer } from "../lifecycle/start.ts";
import { deleteContainer } from "../lifecycle/stop.ts";
import { parseSignal } from "../plan/signals.ts";
import * as sc from "../sys/syscalls.ts";
import { CREATE_OPTIONS, createOptions } from "./create_options.ts";
import type { DenkiCommand } from "./globals.ts";

const options = {
  ...CREATE_OPTIONS,
  detach: { type: "boolean", short: "d", description: "return once the container is running" },
} as const satisfies OptionDefs;

/** Signals a foreground `run` passes on to the container's process. */
const FORWARDED: readonly Deno.Signal[] = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGTERM",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
  "SIGCONT",
];

/** The `run` command. */
export const command: DenkiCommand<typeof options> = {
  args: [{ name: "container-id" }],
  options,
  async run({ opts, args, globals }) {
    const id = args[0]!;
    const { root, log } = globals;
    const created = await createContainer(
      root,
      createOptions(id, opts, globals.systemdCgroup),
      await globals.executors(),
      log,
    );
    const pid = created.record.pid;
    const forward = FORWARDED.map((name) => {
      const handler = () => sc.kill(pid, parseSignal(name)!);
      Deno.addSignalListener(name, handler);
      return () => Deno.removeSignalListener(name, handler);
    });
    try {
      try {
        await startContainer(root, id, log);
      } catch (err) {
        await deleteContainer(root, id, true, log);
        throw err;
      }
      if (opts.detach) return 0;
      const status = await sc.waitChild(pid);
      await deleteContainer(root, id, true, log);
      return status.code;
    } finally {
      for (const remove of forward) remove();
    }
  },
};
