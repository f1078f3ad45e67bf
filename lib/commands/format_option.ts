/** The `--format table|json` option that list and ps share, as in runc. */
import type { OptionDef } from "../cli/command.ts";

/** `-f, --format table|json`, default table. */
export const FORMAT_OPTION = {
  type: "string",
  short: "f",
  valueName: "FORMAT",
  choices: ["table", "json"],
  default: "table",
  description: "output format",
} as const satisfies OptionDef;
