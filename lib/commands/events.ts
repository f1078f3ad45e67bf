/** `denki events ID`: resource usage and OOM events of a container, as JSON lines. */
import type { OptionDefs } from "../cli/command.ts";
import { DenkiError } from "../errors.ts";
import { containerEvents, parseDuration } from "../lifecycle/events.ts";
import type { DenkiCommand } from "./globals.ts";

const options = {
  interval: {
    type: "string",
    valueName: "DURATION",
    default: "5s",
    description: "time between stats events (a Go duration: 5s, 500ms, 1m)",
  },
  stats: { type: "boolean", description: "print the stats once and exit" },
} as const satisfies OptionDefs;

/** The `events` command. */
export const command: DenkiCommand<typeof options> = {
  args: [{ name: "container-id" }],
  options,
  async run({ opts, args, globals }) {
    const ms = parseDuration(opts.interval);
    if (ms === undefined || ms <= 0) {
      throw new DenkiError(`--interval ${JSON.stringify(opts.interval)}: not a positive duration`);
    }
    const encoder = new TextEncoder();
    await containerEvents(
      globals.root,
      args[0]!,
      { once: opts.stats, intervalMs: ms },
      (line) => Deno.stdout.writeSync(encoder.encode(line + "\n")),
    );
  },
};
