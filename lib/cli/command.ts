/**
 * The declarative shape of a denki command: typed options, positional arguments and a run
 * function. Parsing lives in parse.ts, help text in help.ts.
 */

/** The value kinds an option can take. `strings` may be repeated and collects every value. */
export type OptionType = "boolean" | "string" | "integer" | "strings";

/** One option: `--name` (also `-name`, as Go's flag package allows) and an optional `-x`. */
export interface OptionDef {
  type: OptionType;
  description: string;
  /** One-letter alias, e.g. "q" for --quiet. */
  short?: string;
  /** Placeholder shown in help, e.g. "FILE". */
  valueName?: string;
  /** Allowed values for string options. */
  choices?: readonly string[];
  /** The smallest value an integer option takes. */
  min?: number;
  /** Value when the option is absent. */
  default?: string | number;
  /** Accepted but left out of the help text. */
  hidden?: boolean;
}

/** Options keyed by their long name. */
export type OptionDefs = Record<string, OptionDef>;

type ValueOf<D extends OptionDef> = D["type"] extends "boolean" ? boolean
  : D["type"] extends "integer" ? number
  : D["type"] extends "strings" ? string[]
  : string;

/** Parsed option values: booleans and lists are always present, others when given or defaulted. */
export type OptionValues<Ds extends OptionDefs> = {
  [K in keyof Ds]: Ds[K] extends
    { type: "boolean" } | { type: "strings" } | { default: string | number } ? ValueOf<Ds[K]>
    : ValueOf<Ds[K]> | undefined;
};

/** A positional argument, for usage text and arity checks. */
export interface ArgDef {
  name: string;
  optional?: boolean;
  /** Takes every remaining argument (must be last). */
  variadic?: boolean;
}

/** What a command's run function receives. */
export interface CommandContext<O extends OptionDefs, G> {
  opts: OptionValues<O>;
  args: string[];
  globals: G;
}

/**
 * A subcommand's behaviour. Its name and one-line summary live in the command table, so the
 * top-level help can list every command without loading their modules.
 */
export interface Command<O extends OptionDefs, G> {
  /** Longer help text shown below the usage line. */
  description?: string;
  args: ArgDef[];
  options: O;
  /** Options after the first positional argument belong to the arguments (like `runc exec`). */
  stopAtFirstArg?: boolean;
  run(ctx: CommandContext<O, G>): number | void | Promise<number | void>;
}
