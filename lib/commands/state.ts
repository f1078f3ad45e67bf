/** `denki state ID`: the container's OCI state JSON. */
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
    console.log(JSON.stringify(toOciState(record, status), null, 2));
  },
};
