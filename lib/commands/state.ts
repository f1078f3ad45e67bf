/** `denki state ID`: the container's OCI state JSON. */
import { readProcessInfo } from "../state/proc.ts";
import { toOciState } from "../state/record.ts";
import { liveStatus } from "../state/status.ts";
import { StateStore } from "../state/store.ts";
import { denkiCommand } from "./globals.ts";

/** The `state` command. */
export const command = denkiCommand({
  args: [{ name: "container-id" }],
  options: {},
  run({ args, globals }) {
    const id = args[0]!;
    const record = new StateStore(globals.root).read(id);
    const status = liveStatus(record.status, record.pid, record.pidStartTime, readProcessInfo);
    console.log(JSON.stringify(toOciState(record, status), null, 2));
  },
});
