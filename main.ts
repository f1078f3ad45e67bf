/**
 * denki's command-line entry: parses the global options, loads and runs one command, and maps
 * errors to a one-line message and runc's exit status. No npm: or node: imports on this path,
 * and only what every command needs is imported up front (help text, the version and each
 * command load on demand).
 */
import { checkArity, parseArgs, ParseError } from "./lib/cli/parse.ts";
import { DenkiError, UsageError } from "./lib/errors.ts";
import { COMMANDS, findCommand } from "./lib/commands/mod.ts";
import { GLOBAL_OPTIONS, loggerFor, resolveGlobals } from "./lib/commands/globals.ts";
import { Logger } from "./lib/log.ts";
import { ExecutorRegistry } from "./lib/executor_registry.ts";
import { registerExecutors } from "./executors/mod.ts";
import { SHIM_FLAG, SHIM_NAME } from "./lib/shim/names.ts";

const PROGRAM = "denki";

/** denki's executors, registered here and loaded only by the commands that run a workload. */
function executors(): ExecutorRegistry {
  const registry = new ExecutorRegistry();
  registerExecutors(registry);
  return registry;
}
const ABOUT = "denki: an OCI container runtime (Linux and WebAssembly workloads)";
const PROGRAM_USAGE = `Usage: ${PROGRAM} [global options] <command> [options] [arguments...]\n` +
  `Run '${PROGRAM} --help' for the list of commands.`;

/** Runs denki with `argv` (without the program name) and returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let log: Logger | undefined;
  try {
    const top = parseOrUsage(
      () => parseArgs(GLOBAL_OPTIONS, argv, { stopAtFirstArg: true }),
      () => PROGRAM_USAGE,
    );
    log = loggerFor(top.opts);
    log.debug(`denki running ${Deno.mainModule} with ${JSON.stringify(argv)}`);
    if (top.opts.version) {
      console.log((await import("./lib/version.ts")).versionText());
      return 0;
    }
    let [name, ...rest] = top.args;
    if (name === "help") {
      [name, ...rest] = [rest[0], "--help"];
      if (name === undefined) top.help = true;
    }
    if (top.help || name === undefined) {
      const { programHelp } = await import("./lib/cli/help.ts");
      const visible = COMMANDS.filter((c) => !c.hidden);
      console.log(programHelp(PROGRAM, ABOUT, GLOBAL_OPTIONS, visible).trimEnd());
      return 0;
    }
    const entry = findCommand(name);
    if (entry === undefined) throw new UsageError(`unknown command "${name}"`, PROGRAM_USAGE);
    const command = await entry.load();
    const parsed = parseOrUsage(() => {
      const p = parseArgs(command.options, rest, {
        stopAtFirstArg: command.stopAtFirstArg ?? false,
      });
      if (!p.help) checkArity(command.args, p.args);
      return p;
    }, async () => {
      const { usageLine } = await import("./lib/cli/help.ts");
      return `${usageLine(PROGRAM, name, command.args, command.options)}\n` +
        `Run '${PROGRAM} ${name} --help' for its options.`;
    });
    if (parsed.help) {
      const { commandHelp } = await import("./lib/cli/help.ts");
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
    const globals = resolveGlobals(top.opts, log, executors());
    return (await command.run({ opts: parsed.opts, args: parsed.args, globals })) ?? 0;
  } catch (err) {
    return await report(err, log);
  } finally {
    log?.close();
  }
}

/** Marks a parse failure so `report` can add the usage text. */
class PendingUsage extends Error {
  constructor(message: string, readonly usage: () => string | Promise<string>) {
    super(message);
  }
}

function parseOrUsage<T>(parse: () => T, usage: () => string | Promise<string>): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ParseError) throw new PendingUsage(err.message, usage);
    throw err;
  }
}

/** Logs an error as one line and returns its exit status. */
async function report(err: unknown, log: Logger | undefined): Promise<number> {
  const logger = log ?? new Logger({ format: "text", debug: false });
  if (err instanceof PendingUsage) err = new UsageError(err.message, await err.usage());
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

/** The shim's arguments when this process is containerd's shim, else undefined. */
async function shimArgs(argv: readonly string[]): Promise<readonly string[] | undefined> {
  if (argv[0] === SHIM_FLAG) return argv.slice(1);
  if (!Deno.build.standalone) return undefined;
  // The compiled binary serves both names: a link or copy named after the shim is the shim.
  const { readTextRaw } = await import("./lib/sys/rawfs.ts");
  const argv0 = (readTextRaw("/proc/self/cmdline") ?? "").split("\0")[0] ?? "";
  return argv0.slice(argv0.lastIndexOf("/") + 1) === SHIM_NAME ? argv : undefined;
}

if (import.meta.main) {
  const shim = await shimArgs(Deno.args);
  Deno.exit(
    shim === undefined
      ? await main(Deno.args)
      : await (await import("./lib/shim/main.ts")).shimMain(shim, executors),
  );
}
