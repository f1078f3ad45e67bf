import assert from "node:assert/strict";
import { checkArity, parseArgs, ParseError } from "./parse.ts";
import type { OptionDefs } from "./command.ts";

const defs = {
  bundle: { type: "string", short: "b", description: "bundle" },
  detach: { type: "boolean", short: "d", description: "detach" },
  "preserve-fds": { type: "integer", default: 0, min: 0, description: "fds" },
  env: { type: "strings", short: "e", description: "env" },
  format: { type: "string", choices: ["table", "json"], default: "table", description: "f" },
} as const satisfies OptionDefs;

Deno.test("parseArgs: long, short, single-dash long and = forms are the same option", () => {
  for (
    const argv of [
      ["--bundle", "/b"],
      ["--bundle=/b"],
      ["-bundle", "/b"],
      ["-bundle=/b"],
      ["-b", "/b"],
      ["-b=/b"],
    ]
  ) {
    assert.equal(parseArgs(defs, argv).opts.bundle, "/b", argv.join(" "));
  }
});

Deno.test("parseArgs: defaults, booleans and their explicit values", () => {
  const none = parseArgs(defs, []);
  assert.equal(none.opts.detach, false);
  assert.equal(none.opts["preserve-fds"], 0);
  assert.equal(none.opts.format, "table");
  assert.equal(none.opts.bundle, undefined);
  assert.deepEqual(none.opts.env, []);
  assert.equal(parseArgs(defs, ["-d"]).opts.detach, true);
  assert.equal(parseArgs(defs, ["--detach=false"]).opts.detach, false);
  assert.equal(parseArgs(defs, ["--detach=true"]).opts.detach, true);
  assert.throws(() => parseArgs(defs, ["--detach=maybe"]), {
    message: 'option --detach: invalid boolean value "maybe"',
  });
});

Deno.test("parseArgs: repeated options collect, single ones keep the last value", () => {
  const p = parseArgs(defs, ["-e", "A=1", "--env=B=2", "--env", "C=3", "-b", "x", "-b", "y"]);
  assert.deepEqual(p.opts.env, ["A=1", "B=2", "C=3"]);
  assert.equal(p.opts.bundle, "y");
});

Deno.test("parseArgs: integers are checked", () => {
  assert.equal(parseArgs(defs, ["--preserve-fds", "3"]).opts["preserve-fds"], 3);
  assert.throws(() => parseArgs(defs, ["--preserve-fds", "three"]), {
    name: "ParseError",
    message: 'option --preserve-fds: "three" is not an integer',
  });
  assert.throws(() => parseArgs(defs, ["--preserve-fds", "99999999999999999999"]), {
    name: "ParseError",
    message: 'option --preserve-fds: "99999999999999999999" is not an integer',
  });
  assert.throws(() => parseArgs(defs, ["--preserve-fds=-1"]), {
    name: "ParseError",
    message: "option --preserve-fds: -1 is less than 0",
  });
  assert.equal(parseArgs(defs, ["--preserve-fds=0"]).opts["preserve-fds"], 0);
});

Deno.test("parseArgs: choices are checked", () => {
  assert.throws(() => parseArgs(defs, ["--format", "yaml"]), {
    message: 'option --format: "yaml" is not one of "table", "json"',
  });
});

Deno.test("parseArgs: unknown options and missing values are errors", () => {
  assert.throws(() => parseArgs(defs, ["--bogus"]), {
    name: "ParseError",
    message: "unknown option: --bogus",
  });
  assert.throws(() => parseArgs(defs, ["--bundle"]), { message: "option --bundle needs a value" });
});

Deno.test("parseArgs: options may follow positionals unless stopAtFirstArg", () => {
  const mixed = parseArgs(defs, ["id", "-d", "SIGKILL"]);
  assert.deepEqual(mixed.args, ["id", "SIGKILL"]);
  assert.equal(mixed.opts.detach, true);
  const stopped = parseArgs(defs, ["-d", "id", "sh", "-c", "--bundle"], { stopAtFirstArg: true });
  assert.deepEqual(stopped.args, ["id", "sh", "-c", "--bundle"]);
  assert.equal(stopped.opts.detach, true);
});

Deno.test("parseArgs: -- ends options and a lone - is an argument", () => {
  const p = parseArgs(defs, ["--", "-d", "--x"]);
  assert.deepEqual(p.args, ["-d", "--x"]);
  assert.equal(p.opts.detach, false);
  assert.deepEqual(parseArgs(defs, ["-"]).args, ["-"]);
});

Deno.test("parseArgs: -h and --help are recognised everywhere", () => {
  assert.equal(parseArgs(defs, ["id", "--help"]).help, true);
  assert.equal(parseArgs(defs, ["-h"]).help, true);
  assert.equal(parseArgs(defs, ["id"]).help, false);
});

Deno.test("checkArity: missing and extra arguments", () => {
  const args = [{ name: "container-id" }, { name: "signal", optional: true }];
  checkArity(args, ["a"]);
  checkArity(args, ["a", "KILL"]);
  assert.throws(() => checkArity(args, []), {
    name: "ParseError",
    message: "missing argument <container-id>",
  });
  assert.throws(() => checkArity(args, ["a", "b", "c"]), { message: 'unexpected argument "c"' });
  checkArity([{ name: "id" }, { name: "command", variadic: true }], ["a", "b", "c", "d"]);
  assert.ok(new ParseError("x") instanceof Error);
});
