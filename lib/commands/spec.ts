/** `denki spec`: writes a default config.json into the bundle, like `runc spec`. */
import { causeOf, DenkiError } from "../errors.ts";
import { resolve } from "../paths.ts";
import { defaultSpec } from "../spec/default.ts";
import type { OptionDefs } from "../cli/command.ts";
import type { DenkiCommand } from "./globals.ts";

const options = {
  bundle: {
    type: "string",
    short: "b",
    valueName: "DIR",
    description: "bundle directory to write config.json into (default: current directory)",
  },
  rootless: {
    type: "boolean",
    description: "a config for an unprivileged user: user namespace mapping the caller to root",
  },
} as const satisfies OptionDefs;

/** The `spec` command. */
export const command: DenkiCommand<typeof options> = {
  description: "The file is written with the runtime-spec's field layout and tab indentation; " +
    "an existing config.json is never overwritten.",
  args: [],
  options,
  run({ opts }) {
    const bundle = resolve(Deno.cwd(), opts.bundle ?? ".");
    const file = `${bundle}/config.json`;
    const spec = defaultSpec({
      rootless: opts.rootless,
      uid: Deno.uid() ?? 0,
      gid: Deno.gid() ?? 0,
    });
    const text = JSON.stringify(spec, null, "\t");
    try {
      // createNew fails if the file exists, so a concurrent writer cannot be overwritten either.
      Deno.writeTextFileSync(file, text, { createNew: true, mode: 0o666 });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) {
        throw new DenkiError(`cannot write ${file}: it already exists (remove it first)`);
      }
      throw new DenkiError(`cannot write ${file}: ${causeOf(err)}`);
    }
  },
};
