/**
 * The sandbox's broker: the few file operations Deno allows only with unrestricted
 * permissions (making a symlink needs full read and write), done for the sandboxed guest
 * Worker by the thread that started it. The guest's call stays synchronous: the Worker posts
 * the request and sleeps on a shared word until the parent answers. The parent checks the
 * request against the writable mounts itself, so the broker widens nothing the WASI host's
 * own checks allow.
 */
import type { Mount } from "./wasi/vfs.ts";

/** A request from the Worker. */
export interface BrokerRequest {
  type: "broker";
  op: "symlink";
  /** The link's text (any; resolution confines it when followed). */
  target: string;
  /** Host path of the link to make. */
  link: string;
}

// Word 0: 0 idle, 1 asked, 2 answered. Word 1: the answer (0, or a Linux errno name index).
const IDLE = 0;
const ASKED = 1;
const ANSWERED = 2;

/** The shared words of one guest's broker channel. */
export function brokerChannel(): SharedArrayBuffer {
  return new SharedArrayBuffer(8);
}

/** Error names the parent can answer with, by index (0 is success). */
const ERRORS = ["", "AlreadyExists", "NotFound", "PermissionDenied", "NotCapable", "Other"];

/** Worker side: asks the parent to make a symlink; throws a Deno error like symlinkSync would. */
export function brokeredSymlink(
  channel: SharedArrayBuffer,
  post: (req: BrokerRequest) => void,
): (target: string, link: string) => void {
  const words = new Int32Array(channel);
  return (target, link) => {
    Atomics.store(words, 0, ASKED);
    post({ type: "broker", op: "symlink", target, link });
    Atomics.wait(words, 0, ASKED);
    const answer = Atomics.load(words, 1);
    Atomics.store(words, 0, IDLE);
    if (answer === 0) return;
    const name = ERRORS[answer] ?? "Other";
    const ctor = (Deno.errors as unknown as Record<string, ErrorConstructor>)[name] ?? Error;
    throw new ctor(`symlink ${link}: ${name}`);
  };
}

function realPath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/** Parent side: serves one request (the WASI host resolved the path; this re-checks it). */
export function serveBroker(
  channel: SharedArrayBuffer,
  writable: readonly Mount[],
  req: BrokerRequest,
): void {
  const words = new Int32Array(channel);
  let answer = 0;
  try {
    const slash = req.link.lastIndexOf("/");
    const name = req.link.slice(slash + 1);
    const parent = realPath(req.link.slice(0, slash) || "/");
    const roots = writable.map((m) => realPath(m.host)).filter((p) => p !== undefined);
    const inside = parent !== undefined &&
      roots.some((r) => parent === r || parent.startsWith(r === "/" ? "/" : `${r}/`));
    if (req.op !== "symlink" || !inside || name === "" || name === "." || name === "..") {
      answer = ERRORS.indexOf("NotCapable");
    } else {
      Deno.symlinkSync(req.target, `${parent}/${name}`);
    }
  } catch (err) {
    const i = ERRORS.findIndex((n) =>
      n !== "" && (err as Error).constructor === (Deno.errors as Record<string, unknown>)[n]
    );
    answer = i > 0 ? i : ERRORS.indexOf("Other");
  }
  Atomics.store(words, 1, answer);
  Atomics.store(words, 0, ANSWERED);
  Atomics.notify(words, 0);
}
