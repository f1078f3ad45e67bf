import assert from "node:assert/strict";
import { commandHelp, programHelp, usageLine } from "./help.ts";
import type { OptionDefs } from "./command.ts";

const options = {
  format: {
    type: "string",
    short: "f",
    valueName: "FORMAT",
    choices: ["table", "json"],
    default: "table",
    description: "output format",
  },
  quiet: { type: "boolean", short: "q", description: "ids only" },
  secret: { type: "boolean", hidden: true, description: "not shown" },
} as const satisfies OptionDefs;

Deno.test("usageLine: required, optional and variadic arguments", () => {
  assert.equal(
    usageLine("denki", "kill", [{ name: "id" }, { name: "signal", optional: true }], options),
    "Usage: denki [global options] kill [options] <id> [signal]",
  );
  assert.equal(
    usageLine("denki", "exec", [{ name: "id" }, { name: "command", variadic: true }], {}),
    "Usage: denki [global options] exec <id> [command...]",
  );
});

Deno.test("commandHelp: lists visible options with choices and defaults, aligned", () => {
  const text = commandHelp("denki", "list", "list containers", undefined, [], options);
  assert.equal(
    text,
    [
      "Usage: denki [global options] list [options]",
      "",
      "list containers",
      "",
      "Options:",
      "  -f, --format FORMAT  output format (table|json) (default: table)",
      "  -q, --quiet          ids only",
      "  -h, --help           show this help",
      "",
    ].join("\n"),
  );
  assert.ok(!text.includes("secret"));
});

Deno.test("programHelp: names every command with its summary", () => {
  const text = programHelp("denki", "about", {}, [
    { name: "state", summary: "show state" },
    { name: "list", summary: "list them" },
  ]);
  assert.match(text, /\n {2}state {2}show state\n {2}list {3}list them\n/);
});
