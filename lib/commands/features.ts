/** `denki features`: the runtime-spec features JSON. */
import { features } from "../features.ts";
import type { DenkiCommand } from "./globals.ts";

/** The `features` command. */
export const command: DenkiCommand<Record<never, never>> = {
  description: "Lists only what this build of denki implements; an empty list means none.",
  args: [],
  options: {},
  run({ globals }) {
    console.log(JSON.stringify(features(globals.executors), null, 4));
  },
};
