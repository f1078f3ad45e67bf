/** Container id rules (runc's): letters, digits and `_ + - .`; not "." or ".."; a file name. */
import { DenkiError } from "../errors.ts";

/** Longest id accepted: the id names a directory, and NAME_MAX is 255 bytes. */
export const MAX_ID_LENGTH = 255;

const ID_CHARS = /^[A-Za-z0-9_+.-]+$/;

/** Returns why `id` is not a valid container id, or undefined when it is. */
export function idProblem(id: string): string | undefined {
  if (id === "") return "it is empty";
  if (id.length > MAX_ID_LENGTH) return `it is longer than ${MAX_ID_LENGTH} characters`;
  if (!ID_CHARS.test(id)) return 'only letters, digits and "_+-." are allowed';
  if (id === "." || id === "..") return "it is a path component";
  return undefined;
}

/** Throws a DenkiError naming the id and the rule it breaks; call before touching any file. */
export function checkContainerId(id: string): void {
  const problem = idProblem(id);
  if (problem !== undefined) {
    const shown = id.length > 64 ? `${id.slice(0, 64)}...` : id;
    throw new DenkiError(`invalid container id ${JSON.stringify(shown)}: ${problem}`);
  }
}
