/** `denki list`: the containers under the state root, as a table, JSON or ids only. */
import type { OptionDefs } from "../cli/command.ts";
import { FORMAT_OPTION } from "./format_option.ts";
import { creatingState, currentStatus } from "../state/proc.ts";
import { type OciState, toOciState } from "../state/record.ts";
import { StateStore } from "../state/store.ts";
import type { DenkiCommand } from "./globals.ts";

/** Aligns rows like Go's tabwriter with minwidth 12, padding 3 (runc's list layout). */
export function table(rows: readonly (readonly string[])[]): string {
  const cols = Math.max(0, ...rows.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < cols - 1; c++) {
    widths.push(Math.max(12, ...rows.map((r) => (r[c] ?? "").length + 3)));
  }
  return rows.map((r) => r.map((cell, c) => c < cols - 1 ? cell.padEnd(widths[c]!) : cell).join(""))
    .map((line) => line + "\n").join("");
}

const options = {
  format: FORMAT_OPTION,
  quiet: { type: "boolean", short: "q", description: "print only the container ids" },
} as const satisfies OptionDefs;

/** The `list` command. */
export const command: DenkiCommand<typeof options> = {
  args: [],
  options,
  run({ opts, globals }) {
    const states: OciState[] = [];
    const store = new StateStore(globals.root);
    for (const entry of store.list()) {
      if ("error" in entry) {
        globals.log.warn(`skipping container "${entry.id}": ${entry.error.message}`);
        continue;
      }
      if ("creating" in entry) {
        // Being created, or left half-made by a create that died (`delete` removes it).
        states.push(creatingState(entry.id, entry.creating));
        continue;
      }
      states.push(toOciState(entry.record, currentStatus(entry.record, store.dirOf(entry.id))));
    }
    if (opts.quiet) {
      for (const s of states) console.log(s.id);
      return;
    }
    if (opts.format === "json") {
      console.log(JSON.stringify(states));
      return;
    }
    const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
    for (const s of states) {
      rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]);
    }
    Deno.stdout.writeSync(new TextEncoder().encode(table(rows)));
  },
};
