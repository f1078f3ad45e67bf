/**
 * containerd-shim-denki-v2: denki as a containerd runtime v2 shim. containerd runs it three
 * ways, told apart by the last argument: `start` (find or start the daemon for this container's
 * group and print its address), `delete` (clean up after a daemon that died), and, with no
 * action, the daemon itself (`serve` here: the one start spawns). Flags are Go's `flag` style,
 * as containerd passes them: `-namespace ns`, `--namespace=ns`, `-debug`.
 */
import { DenkiError } from "../errors.ts";
import type { ExecutorRegistry } from "../executor_registry.ts";

/** The flags containerd passes a shim (and the socket the daemon is told to bind). */
export interface ShimFlags {
  namespace: string;
  id: string;
  /** containerd's gRPC address. */
  address: string;
  publishBinary: string;
  bundle: string;
  debug: boolean;
  /** The daemon's socket path (start tells the daemon; containerd never passes it). */
  socket: string;
  action: string;
}

const VALUE_FLAGS: Record<string, keyof ShimFlags> = {
  namespace: "namespace",
  id: "id",
  address: "address",
  "publish-binary": "publishBinary",
  bundle: "bundle",
  socket: "socket",
};

/** Parses the shim's arguments the way Go's flag package reads them. */
export function parseShimFlags(argv: readonly string[]): ShimFlags {
  const out: ShimFlags = {
    namespace: "",
    id: "",
    address: "",
    publishBinary: "",
    bundle: "",
    debug: false,
    socket: "",
    action: "",
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-") || arg === "-" || rest.length > 0) {
      rest.push(arg);
      continue;
    }
    if (arg === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    if (name === "debug") {
      // Go's strconv.ParseBool.
      out.debug = eq < 0 || ["1", "t", "T", "true", "TRUE", "True"].includes(body.slice(eq + 1));
      continue;
    }
    if (name === "v" || name === "version" || name === "systemd-cgroup") continue;
    const key = VALUE_FLAGS[name];
    if (key === undefined) throw new DenkiError(`flag provided but not defined: -${name}`);
    let value: string | undefined = eq < 0 ? argv[++i] : body.slice(eq + 1);
    if (value === undefined) throw new DenkiError(`flag needs an argument: -${name}`);
    (out as unknown as Record<string, string>)[key] = value;
    value = undefined;
  }
  out.action = rest[0] ?? "";
  return out;
}

/** Runs the shim with `argv` (without the program name); returns the exit status. */
export async function shimMain(
  argv: readonly string[],
  executors: () => ExecutorRegistry,
): Promise<number> {
  try {
    const flags = parseShimFlags(argv);
    if (argv.includes("-v") || argv.includes("--version") || argv.includes("-version")) {
      const { versionText } = await import("../version.ts");
      console.log(`containerd-shim-denki-v2:\n${versionText()}`);
      return 0;
    }
    if (flags.namespace === "") throw new DenkiError("shim namespace cannot be empty");
    switch (flags.action) {
      case "start":
        return await (await import("./start.ts")).startShim(flags);
      case "delete":
        return await (await import("./cleanup.ts")).cleanupShim(flags);
      case "spare":
        return await (await import("./daemon.ts")).serveSpare(executors());
      case "":
      case "serve":
        return await (await import("./daemon.ts")).serveShim(flags, executors());
      default:
        throw new DenkiError(`unknown shim action "${flags.action.slice(0, 32)}"`);
    }
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // containerd shows a failed start's output to the user: one line.
    console.error(`containerd-shim-denki-v2: ${msg}`);
    return 1;
  }
}
