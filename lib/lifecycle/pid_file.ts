/** The --pid-file of create, run and exec. */
import { causeOf, DenkiError } from "../errors.ts";
import { resolve } from "../paths.ts";

/** Writes the pid file atomically (temp file + rename), runc's format: the pid, no newline. */
export function writePidFile(path: string, pid: number): void {
  const abs = resolve(Deno.cwd(), path);
  const dir = abs.slice(0, abs.lastIndexOf("/")) || "/";
  const tmp = `${dir}/.${abs.slice(abs.lastIndexOf("/") + 1)}.tmp-${Deno.pid}`;
  try {
    Deno.writeTextFileSync(tmp, String(pid), { createNew: true, mode: 0o644 });
    Deno.renameSync(tmp, abs);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing to clean
    }
    throw new DenkiError(`cannot write pid file ${abs}: ${causeOf(err)}`);
  }
}
