/**
 * Command-line parsing with the conventions runc's callers rely on (Go's flag package via
 * urfave/cli): `-name` and `--name` are the same option, values come as `--name value` or
 * `--name=value`, booleans take an optional `=true|false`, and `--` ends the options.
 */
import { quote } from "../errors.ts";
import type { ArgDef, OptionDef, OptionDefs, OptionValues } from "./command.ts";

/** A parse failure; the caller adds the usage text of the command being parsed. */
export class ParseError extends Error {
  override name = "ParseError";
}

/** The result of parsing one level (global or command) of the command line. */
export interface Parsed<O extends OptionDefs> {
  opts: OptionValues<O>;
  /** Positional arguments, in order. */
  args: string[];
  /** True when -h/--help was given. */
  help: boolean;
}

/** How a parse treats positional arguments. */
export interface ParseMode {
  /**
   * Stop at the first positional argument and return it and everything after it as arguments
   * (global options before the command name; `exec ID CMD ARGS...`).
   */
  stopAtFirstArg?: boolean;
}

const BOOL_WORDS: Record<string, boolean> = {
  "true": true,
  "1": true,
  "t": true,
  "T": true,
  "TRUE": true,
  "True": true,
  "false": false,
  "0": false,
  "f": false,
  "F": false,
  "FALSE": false,
  "False": false,
};

/** Parses `argv` against option definitions. Unknown options and bad values throw ParseError. */
export function parseArgs<O extends OptionDefs>(
  defs: O,
  argv: readonly string[],
  mode: ParseMode = {},
): Parsed<O> {
  const lookup = optionLookup(defs);
  const values: Record<string, unknown> = initialValues(defs);
  const args: string[] = [];
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      if (mode.stopAtFirstArg) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(token);
      continue;
    }
    const body = token.startsWith("--") ? token.slice(2) : token.slice(1);
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    if (name === "help" || name === "h") {
      help = true;
      continue;
    }
    const found = lookup.get(name);
    if (found === undefined) throw new ParseError(`unknown option: ${token}`);
    const [key, def] = found;
    if (def.type === "boolean") {
      if (inline === undefined) {
        values[key] = true;
      } else {
        const b = BOOL_WORDS[inline];
        if (b === undefined) {
          throw new ParseError(`option --${key}: invalid boolean value "${inline}"`);
        }
        values[key] = b;
      }
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= argv.length) throw new ParseError(`option --${key} needs a value`);
      raw = argv[++i]!;
    }
    const value = convert(key, def, raw);
    if (def.type === "strings") (values[key] as string[]).push(value as string);
    else values[key] = value;
  }
  return { opts: values as OptionValues<O>, args, help };
}

/** Checks the number of positional arguments against the command's argument list. */
export function checkArity(defs: readonly ArgDef[], args: readonly string[]): void {
  const required = defs.filter((a) => !a.optional && !a.variadic).length;
  const variadic = defs.some((a) => a.variadic);
  if (args.length < required) {
    const missing = defs[args.length]!;
    throw new ParseError(`missing argument <${missing.name}>`);
  }
  if (!variadic && args.length > defs.length) {
    throw new ParseError(`unexpected argument "${args[defs.length]}"`);
  }
}

function optionLookup(defs: OptionDefs): Map<string, [string, OptionDef]> {
  const map = new Map<string, [string, OptionDef]>();
  for (const [key, def] of Object.entries(defs)) {
    map.set(key, [key, def]);
    if (def.short !== undefined) map.set(def.short, [key, def]);
  }
  return map;
}

function initialValues(defs: OptionDefs): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(defs)) {
    if (def.type === "boolean") values[key] = false;
    else if (def.type === "strings") values[key] = [];
    else if (def.default !== undefined) values[key] = def.default;
  }
  return values;
}

function convert(key: string, def: OptionDef, raw: string): string | number {
  if (def.type === "integer") {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) {
      throw new ParseError(`option --${key}: ${quote(raw)} is not an integer`);
    }
    if (def.min !== undefined && n < def.min) {
      throw new ParseError(`option --${key}: ${n} is less than ${def.min}`);
    }
    return n;
  }
  if (def.choices !== undefined && !def.choices.includes(raw)) {
    throw new ParseError(
      `option --${key}: "${raw}" is not one of ${def.choices.map((c) => `"${c}"`).join(", ")}`,
    );
  }
  return raw;
}
