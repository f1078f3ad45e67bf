/**
 * `denki run ID`: create and start a container; in the foreground, forward signals to it,
 * wait for it, delete it and exit with its status (128+N when signal N killed it). A process
 * with a terminal gets a pty whose master this process relays to the caller's stdio.
 */
import type { OptionDefs } from "../cli/command.ts";
import { attachTerminal } from "../lifecycle/console_relay.ts";
import { createContainer } from "../lifecycle/create.ts";
import { startContainer } from "../lifecycle/start.ts";
import { deleteContainer } from "../lifecycle/stop.ts";
import { FORWARDED, forwardSignals } from "../lifecycle/forward.ts";
import * as sc from "../sys/syscalls.ts";
import { CREATE_OPTIONS, createOptions } from "./create_options.ts";
import type { DenkiCommand } from "./globals.ts";

const options = {
  ...CREATE_OPTIONS,
  detach: { type: "boolean", short: "d", description: "return once the container is running" },
} as const satisfies OptionDefs;

/** The `run` command. */
export const command: DenkiCommand<typeof options> = {
  args: [{ name: "container-id" }],
  options,
  async run({ opts, args, globals }) {
    const id = args[0]!;
    const { root, log } = globals;
    const created = await createContainer(
      root,
      { ...createOptions(id, opts, globals.systemdCgroup), foreground: !opts.detach },
      await globals.executors.all(),
      log,
    );
    const pid = created.record.pid;
    // With a terminal, this process holds the pty: the caller's terminal goes raw and its
    // size changes resize the pty (the kernel then signals the workload) instead of being
    // forwarded.
    const terminal = created.console === undefined ? undefined : attachTerminal(created.console);
    const signals = terminal ? FORWARDED.filter((s) => s !== "SIGWINCH") : FORWARDED;
    const stopForwarding = forwardSignals(pid, signals);
    try {
      try {
        await startContainer(root, id, log);
      } catch (err) {
        // What the init said on its way out (the failing step) reaches the caller first.
        await created.stdio?.relay(pid);
        await deleteContainer(root, id, true, log);
        throw err;
      }
      if (opts.detach) return 0;
      const status = terminal
        ? await terminal.relay(pid)
        : created.stdio
        ? await created.stdio.relay(pid)
        : await sc.waitChild(pid);
      terminal?.detach();
      await deleteContainer(root, id, true, log);
      return status.code;
    } finally {
      terminal?.detach();
      created.stdio?.close();
      stopForwarding();
    }
  },
};
