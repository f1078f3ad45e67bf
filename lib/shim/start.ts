/**
 * `containerd-shim-denki-v2 start`: containerd runs it in the new container's bundle and reads
 * the daemon's address from its stdout. Containers of one pod (the CRI sandbox annotation)
 * share one daemon, as with containerd's runc shim: when the group's socket answers, its
 * address is the answer; otherwise a daemon is started, and its address printed once it
 * listens (containerd connects right away).
 */
import { DenkiError } from "../errors.ts";
import type { ShimFlags } from "./main.ts";
import { SOCKET_DIR, SPARE_SOCKET } from "./names.ts";
import { shimCommand } from "./command.ts";
import { readLine } from "./line.ts";

/** Annotations that put containers into one shim: the pod's sandbox id. */
const GROUP_ANNOTATIONS = ["io.kubernetes.cri.sandbox-id"];

/** How long a new daemon may take to listen before start gives up. */
const READY_MS = 10_000;

/** The group a bundle's container belongs to: its pod's sandbox id, or its own id. */
export function groupOf(id: string, configText: string | undefined): string {
  if (configText === undefined) return id;
  let annotations: unknown;
  try {
    annotations = JSON.parse(configText)?.annotations;
  } catch {
    return id;
  }
  if (typeof annotations !== "object" || annotations === null) return id;
  for (const key of GROUP_ANNOTATIONS) {
    const v = (annotations as Record<string, unknown>)[key];
    if (typeof v === "string" && v !== "") return v;
  }
  return id;
}

/** The group's socket address: a hash of containerd's address, the namespace and the group. */
export async function socketAddress(
  containerd: string,
  namespace: string,
  group: string,
): Promise<string> {
  const key = `${containerd}/${namespace}/${group}`.replace(/\/+/g, "/");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `unix://${SOCKET_DIR}/${hex}`;
}

/** True when something accepts connections on the unix socket at `path`. */
export async function canConnect(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

function readConfig(): string | undefined {
  try {
    return Deno.readTextFileSync("config.json");
  } catch {
    return undefined;
  }
}

/** The start action: prints the address of the daemon that serves this container. */
export async function startShim(flags: ShimFlags): Promise<number> {
  const group = groupOf(flags.id, readConfig());
  const address = await socketAddress(flags.address, flags.namespace, group);
  const path = address.slice("unix://".length);
  Deno.mkdirSync(SOCKET_DIR, { recursive: true, mode: 0o711 });
  let exists = true;
  try {
    Deno.lstatSync(path);
  } catch {
    exists = false;
  }
  if (exists) {
    if (await canConnect(path)) {
      Deno.writeTextFileSync("address", address);
      await writeOut(address);
      return 0;
    }
    // A socket nobody listens on: its daemon died without cleaning up.
    Deno.removeSync(path);
  }
  Deno.writeTextFileSync("address", address);
  const daemonArgs = [
    "-namespace",
    flags.namespace,
    "-id",
    flags.id,
    "-address",
    flags.address,
    "-publish-binary",
    flags.publishBinary,
    ...(flags.debug ? ["-debug"] : []),
  ];
  // A spare daemon (already started, its code loaded) takes the group if there is one;
  // otherwise a new daemon starts now.
  const adopted = await handOver(flags, path);
  if (!adopted) {
    try {
      await startDaemon([...daemonArgs, "-socket", path, "serve"]);
    } catch (err) {
      // Another start for this group got there first: its daemon serves this one too.
      if (!(await canConnect(path))) throw err;
    }
  }
  await writeOut(address);
  return 0;
}

/** Asks the spare daemon, if there is one, to serve the group at `path`; true if it does. */
async function handOver(flags: ShimFlags, path: string): Promise<boolean> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: SPARE_SOCKET });
  } catch {
    return false;
  }
  try {
    const req = {
      namespace: flags.namespace,
      socket: path,
      bundle: Deno.cwd(),
      ttrpcAddress: Deno.env.get("TTRPC_ADDRESS") ?? "",
      debug: flags.debug,
    };
    await conn.write(new TextEncoder().encode(`${JSON.stringify(req)}\n`));
    return (await readLine(conn, 4096, READY_MS)) === "ready";
  } catch {
    return false;
  } finally {
    try {
      conn.close();
    } catch {
      // closed by readLine's timer
    }
  }
}

/** Starts a daemon for the group and waits until it listens. */
async function startDaemon(args: string[]): Promise<void> {
  const argv = shimCommand(args);
  // containerd reads start's output to its end: the daemon must not keep it open. It says
  // "ready" on a pipe of its own once it listens, then lets go of it.
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const said = await readyLine(child);
  if (said !== "ready") {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    const status = await child.status;
    throw new DenkiError(
      `the shim daemon did not start (${said ?? `exit status ${status.code}`})`,
    );
  }
  child.unref();
}

/** The first line the daemon writes (without the newline), or undefined at EOF or timeout. */
async function readyLine(child: Deno.ChildProcess): Promise<string | undefined> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timeout = new Promise<undefined>((r) => {
    const t = setTimeout(() => r(undefined), READY_MS);
    Deno.unrefTimer(t);
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === undefined) return "timed out";
      if (next.done) return text === "" ? undefined : text;
      text += decoder.decode(next.value, { stream: true });
      const nl = text.indexOf("\n");
      if (nl >= 0) return text.slice(0, nl);
    }
  } finally {
    reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

async function writeOut(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
}
