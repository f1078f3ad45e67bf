/** Help and usage text generated from command and option definitions. */
import type { ArgDef, OptionDefs } from "./command.ts";

/** The usage line of a command, e.g. `denki [global options] kill [options] <id> [signal]`. */
export function usageLine(
  program: string,
  name: string,
  args: readonly ArgDef[],
  options: OptionDefs,
): string {
  const parts = [program, "[global options]", name];
  if (Object.values(options).some((o) => !o.hidden)) parts.push("[options]");
  for (const a of args) {
    const shown = a.variadic ? `${a.name}...` : a.name;
    parts.push(a.optional || a.variadic ? `[${shown}]` : `<${shown}>`);
  }
  return `Usage: ${parts.join(" ")}`;
}

/** The option table, one aligned line per visible option plus -h/--help. */
export function optionTable(options: OptionDefs): string {
  const rows: [string, string][] = [];
  for (const [key, def] of Object.entries(options)) {
    if (def.hidden) continue;
    let flag = def.short ? `-${def.short}, --${key}` : `    --${key}`;
    if (def.type !== "boolean") flag += ` ${def.valueName ?? "VALUE"}`;
    let text = def.description;
    if (def.choices) text += ` (${def.choices.join("|")})`;
    if (def.default !== undefined) text += ` (default: ${def.default})`;
    if (def.type === "strings") text += " (repeatable)";
    rows.push([flag, text]);
  }
  rows.push(["-h, --help", "show this help"]);
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, t]) => `  ${f.padEnd(width)}  ${t}`).join("\n");
}

/** Full help for one command. */
export function commandHelp(
  program: string,
  name: string,
  summary: string,
  description: string | undefined,
  args: readonly ArgDef[],
  options: OptionDefs,
): string {
  const lines = [usageLine(program, name, args, options), "", summary];
  if (description) lines.push("", description.trim());
  lines.push("", "Options:", optionTable(options));
  return lines.join("\n") + "\n";
}

/** Top-level help: global options and the command list. */
export function programHelp(
  program: string,
  about: string,
  globals: OptionDefs,
  commands: readonly { name: string; summary: string }[],
): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `Usage: ${program} [global options] <command> [options] [arguments...]`,
    "",
    about,
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Global options:",
    optionTable(globals),
    "",
    `Run '${program} <command> --help' for a command's options.`,
  ].join("\n") + "\n";
}
