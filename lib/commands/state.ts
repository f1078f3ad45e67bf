/**
 * `denki state ID`: the container's OCI state JSON, as `runc state` prints it: indented by two
 * spaces, no newline after it, and an empty `owner` (runc's state command never fills it in;
 * `list` shows the owner's name).
 */
import { currentStatus } from "../state/proc.ts";
import { toOciState } from "../state/record.ts";
import { StateStore } from "../state/store.ts";
import type { DenkiCommand } from "./globals.ts";

/** The `state` command. */
export const command: DenkiCommand<Record<never, never>> = {
  args: [{ name: "container-id" }],
  options: {},
  run({ args, globals }) {
    const store = new StateStore(globals.root);
    const record = store.read(args[0]!);
    const status = currentStatus(record, store.dirOf(record.id));
    const state = { ...toOciState(record, status), owner: "" };
    let out = new TextEncoder().encode(JSON.stringify(state, null, 2));
    while (out.length > 0) out = out.subarray(Deno.stdout.writeSync(out));
  },
};
