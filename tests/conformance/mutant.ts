/**
 * A runtime whose workloads never do their work: it passes every command to a real runtime,
 * but first replaces the program of each `create`, `run` and `exec` with a stand-in that exits
 * at once (`true`), or that idles (`sleep 30`) wherever the caller does not wait for it (create,
 * run -d, exec -d; a foreground one still exits at once). A check that passes against either
 * never proved that the workload ran, which is how issue 12's empty outputs passed for success.
 * The conformance self-test runs every check that runs a workload against both.
 */
import type { Runtime } from "./runtime.ts";

/** What replaces each program. */
export type StandIn = "true" | "idle";

function standIn(kind: StandIn, args: string[]): string[] {
  const waited = (args[0] === "run" || args[0] === "exec") &&
    !args.includes("-d") && !args.includes("--detach");
  return kind === "idle" && !waited ? ["sleep", "30"] : ["true"];
}

/** `exec` options that take a value (runc's and denki's), so the command can be found. */
const EXEC_VALUE = new Set([
  "--console-socket",
  "--cwd",
  "--env",
  "-e",
  "--user",
  "-u",
  "--additional-gids",
  "-g",
  "--process",
  "-p",
  "--apparmor",
  "--process-label",
  "--cap",
  "-c",
  "--preserve-fds",
  "--pid-file",
  "--cgroup",
]);

/** `args` of an exec with its command replaced (or its --process file rewritten). */
function execArgs(args: string[], standIn: string[]): string[] {
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--process" || a === "-p") {
      const file = args[i + 1]!;
      const p = JSON.parse(Deno.readTextFileSync(file));
      Deno.writeTextFileSync(file, JSON.stringify({ ...p, args: standIn }));
    }
    if (EXEC_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith("-")) continue;
    // The container id; the command follows (none with --process).
    return [...args.slice(0, i + 1), ...(i + 1 < args.length ? standIn : [])];
  }
  return args;
}

/** The bundle directory of a create or run (its --bundle value, else the working directory). */
function bundleOf(args: string[], cwd: string | undefined): string {
  const i = args.findIndex((a) => a === "--bundle" || a === "-b");
  const dir = i >= 0 ? args[i + 1]! : ".";
  return dir.startsWith("/") ? dir : `${cwd ?? Deno.cwd()}/${dir}`;
}

/** `base` with every workload replaced by the stand-in `kind`. */
export function mutant(base: Runtime, kind: StandIn): Runtime {
  return {
    name: `${base.name} (every program replaced: ${kind})`,
    run(args, opts = {}) {
      const program = standIn(kind, args);
      if (args[0] === "create" || args[0] === "run") {
        const file = `${bundleOf(args, opts.cwd)}/config.json`;
        const config = JSON.parse(Deno.readTextFileSync(file));
        config.process.args = program;
        Deno.writeTextFileSync(file, JSON.stringify(config));
      } else if (args[0] === "exec") {
        args = execArgs(args, program);
      }
      return base.run(args, opts);
    },
  };
}
