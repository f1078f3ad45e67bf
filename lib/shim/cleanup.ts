/**
 * `containerd-shim-denki-v2 delete`: containerd runs it when a task's shim is gone (killed,
 * crashed) to undo what the daemon would have: the container is deleted by force (its init
 * killed, cgroup and state removed) and the rootfs unmounted. The answer, on stdout, is a
 * DeleteResponse, as from the daemon's Delete.
 */
import { Logger } from "../log.ts";
import { deleteContainer } from "../lifecycle/stop.ts";
import { StateStore } from "../state/store.ts";
import * as sc from "../sys/syscalls.ts";
import type { ShimFlags } from "./main.ts";
import { SOCKET_DIR, STATE_ROOT } from "./names.ts";
import { DeleteResponse, toTimestamp } from "./proto/messages.ts";
import { encode } from "./proto/wire.ts";
import { unmountRootfs } from "./rootfs.ts";
import { canConnect } from "./start.ts";

/** SIGKILL's exit status, as containerd's runc shim reports a task it cleaned up. */
const KILLED = 128 + 9;

/** The delete action; prints the DeleteResponse. */
export async function cleanupShim(flags: ShimFlags): Promise<number> {
  const log = new Logger({ format: "text", debug: flags.debug });
  const root = `${STATE_ROOT}/${flags.namespace}`;
  const bundle = flags.bundle !== "" ? flags.bundle : sc.getcwd();
  let pid = 0;
  try {
    const store = new StateStore(root);
    try {
      pid = store.read(flags.id).pid;
    } finally {
      store.close();
    }
  } catch {
    // no state (never created, or already deleted)
  }
  try {
    await deleteContainer(root, flags.id, true, log);
  } catch (err) {
    log.warn(`delete ${flags.id}: ${(err as Error).message}`);
  }
  unmountRootfs(`${bundle}/rootfs`);
  await removeDeadSocket(bundle);
  const out = encode(DeleteResponse, { pid, exitStatus: KILLED, exitedAt: toTimestamp() });
  let off = 0;
  while (off < out.length) off += await Deno.stdout.write(out.subarray(off));
  return 0;
}

/** The daemon's socket, when it died without removing it (nothing answers there any more). */
async function removeDeadSocket(bundle: string): Promise<void> {
  let address: string;
  try {
    address = Deno.readTextFileSync(`${bundle}/address`).trim();
  } catch {
    return;
  }
  const path = address.replace(/^unix:\/\//, "");
  if (!path.startsWith(`${SOCKET_DIR}/`) || await canConnect(path)) return;
  try {
    Deno.removeSync(path);
  } catch {
    // gone already
  }
}
