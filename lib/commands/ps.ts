/**
 * `denki ps ID [ps options]`: the container's processes. JSON is the bare pid list containerd
 * reads; the table is the host's `ps` output (default `-ef`) cut to the container's pids.
 */
import type { OptionDefs } from "../cli/command.ts";
import { FORMAT_OPTION } from "./format_option.ts";
import { causeOf, DenkiError } from "../errors.ts";
import { containerProcesses } from "../lifecycle/control.ts";
import type { DenkiCommand } from "./globals.ts";

const options = {
  format: FORMAT_OPTION,
} as const satisfies OptionDefs;

/** Keeps the header and the lines of `ps` output whose PID column is one of `pids`. */
export function filterPs(output: string, pids: readonly number[]): string {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  const header = lines[0] ?? "";
  const column = header.trim().split(/\s+/).indexOf("PID");
  if (column < 0) throw new DenkiError(`ps output has no PID column: ${JSON.stringify(header)}`);
  const want = new Set(pids);
  const kept = lines.slice(1).filter((l) => want.has(Number(l.trim().split(/\s+/)[column])));
  return [header, ...kept].join("\n") + "\n";
}

/** The `ps` command. */
export const command: DenkiCommand<typeof options> = {
  description: "Options after the container id are passed to ps(1) (default -ef).",
  args: [{ name: "container-id" }, { name: "ps-options", optional: true, variadic: true }],
  options,
  stopAtFirstArg: true,
  async run({ opts, args, globals }) {
    const [id, ...psArgs] = args;
    const pids = containerProcesses(globals.root, id!);
    if (opts.format === "json") {
      if (psArgs.length > 0) throw new DenkiError("ps options cannot be used with --format json");
      console.log(JSON.stringify(pids));
      return;
    }
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("ps", {
        args: psArgs.length > 0 ? psArgs : ["-ef"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      throw new DenkiError(`cannot run ps: ${causeOf(err)}`);
    }
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
      throw new DenkiError(`ps ${psArgs.join(" ")} failed: ${why}`);
    }
    Deno.stdout.writeSync(
      new TextEncoder().encode(filterPs(new TextDecoder().decode(out.stdout), pids)),
    );
  },
};
