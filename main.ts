/**
 * denki's command-line entry: parses the global options, loads and runs one command, and maps
 * errors to a one-line message and runc's exit status. No npm: or node: imports on this path.
 */
import { checkArity, parseArgs, ParseError } from "./lib/cli/parse.ts";
import { commandHelp, programHelp, usageLine } from "./lib/cli/help.ts";
import { DenkiError, UsageError } from "./lib/errors.ts";
import { COMMANDS, findCommand } from "./lib/commands/mod.ts";
import { GLOBAL_OPTIONS, loggerFor, resolveGlobals } from "./lib/commands/globals.ts";
import { DENKI_VERSION, OCI_SPEC_VERSION } from "./lib/version.ts";
import { Logger } from "./lib/log.ts";

const PROGRAM = "denki";
const ABOUT = "denki: an OCI container runtime (Linux and WebAssembly workloads)";

/** The `--version` text: denki, the runtime-spec it implements, and the Deno it runs on. */
export function versionText(): string {
  return [
    `${PROGRAM} version ${DENKI_VERSION}`,
    `spec: ${OCI_SPEC_VERSION}`,
    `deno: ${Deno.version.deno}`,
    `v8: ${Deno.version.v8}`,
    `typescript: ${Deno.version.typescript}`,
  ].join("\n");
}

/** Runs denki with `argv` (without the program name) and returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let log: Logger | undefined;
  const programUsage = `Usage: ${PROGRAM} [global options] <command> [options] [arguments...]\n` +
    `Run '${PROGRAM} --help' for the list of commands.`;
  try {
    const top = parseOrUsage(
      () => parseArgs(GLOBAL_OPTIONS, argv, { stopAtFirstArg: true }),
      programUsage,
    );
    log = loggerFor(top.opts);
    if (top.opts.version) {
      console.log(versionText());
      return 0;
    }
    let [name, ...rest] = top.args;
    if (name === "help") {
      [name, ...rest] = [rest[0], "--help"];
      if (name === undefined) top.help = true;
    }
    if (top.help || name === undefined) {
      console.log(programHelp(PROGRAM, ABOUT, GLOBAL_OPTIONS, COMMANDS).trimEnd());
      return 0;
    }
    const entry = findCommand(name);
    if (entry === undefined) {
      throw new UsageError(`unknown command "${name}"`, programUsage);
    }
    const command = await entry.load();
    const usage = usageLine(PROGRAM, name, command.args, command.options);
    const parsed = parseOrUsage(() => {
      const p = parseArgs(command.options, rest, {
        stopAtFirstArg: command.stopAtFirstArg ?? false,
      });
      if (!p.help) checkArity(command.args, p.args);
      return p;
    }, `${usage}\nRun '${PROGRAM} ${name} --help' for its options.`);
    if (parsed.help) {
      const text = commandHelp(
        PROGRAM,
        name,
        entry.summary,
        command.description,
        command.args,
        command.options,
      );
      console.log(text.trimEnd());
      return 0;
    }
    const globals = resolveGlobals(top.opts, log);
    return (await command.run({ opts: parsed.opts, args: parsed.args, globals })) ?? 0;
  } catch (err) {
    return report(err, log);
  } finally {
    log?.close();
  }
}

function parseOrUsage<T>(parse: () => T, usage: string): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ParseError) throw new UsageError(err.message, usage);
    throw err;
  }
}

/** Logs an error as one line and returns its exit status. */
function report(err: unknown, log: Logger | undefined): number {
  const logger = log ?? new Logger({ format: "text", debug: false });
  if (err instanceof DenkiError) {
    logger.error(err.message);
    if (err instanceof UsageError) console.error(err.usage);
    return err.exitCode;
  }
  // Anything else is a bug in denki: still one line, with the stack only under --debug.
  const e = err instanceof Error ? err : new Error(String(err));
  logger.error(`internal error: ${e.message}`);
  logger.debug(e.stack ?? "");
  return 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
