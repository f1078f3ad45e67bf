/**
 * Error classes that callers branch on. Everything else is a plain DenkiError whose message
 * names the operation, its argument and the cause.
 */
import { describeErrno } from "./plan/errno.ts";

/** An error meant for the user: main.ts prints its message on one line and exits with exitCode. */
export class DenkiError extends Error {
  override name = "DenkiError";
  /** Process exit status for this error (runc uses 1 for every failure). */
  exitCode = 1;
}

/** Bad command line: the message is printed together with the command's usage. */
export class UsageError extends DenkiError {
  override name = "UsageError";
  constructor(message: string, readonly usage: string) {
    super(message);
  }
}

/** The container id has no state directory (or no state file yet). */
export class ContainerNotFound extends DenkiError {
  override name = "ContainerNotFound";
  constructor(readonly id: string) {
    super(`container "${id}" does not exist`);
  }
}

/** A container with this id already exists. */
export class ContainerExists extends DenkiError {
  override name = "ContainerExists";
  constructor(readonly id: string) {
    super(`container "${id}" already exists`);
  }
}

/** The command is not allowed in the container's current status. */
export class InvalidState extends DenkiError {
  override name = "InvalidState";
}

/** One problem found in a config.json: the JSON path it concerns and what is wrong. */
export interface SpecIssue {
  path: string;
  message: string;
}

/** How many issues a SpecError's message lists. */
const MAX_SHOWN_ISSUES = 20;

/** config.json failed to parse or validate; carries every issue found, not just the first. */
export class SpecError extends DenkiError {
  override name = "SpecError";
  constructor(readonly file: string, readonly issues: SpecIssue[]) {
    // Every issue stays in `issues`; the one-line message names the first few.
    const shown = issues.slice(0, MAX_SHOWN_ISSUES).map(formatIssue).join("; ");
    const more = issues.length - MAX_SHOWN_ISSUES;
    super(`invalid ${file}: ${shown}${more > 0 ? `; and ${more} more problems` : ""}`);
  }
}

/** Renders one issue as `path: message` (or just the message for the document root). */
export function formatIssue(issue: SpecIssue): string {
  return issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`;
}

/** Turns any thrown value into a short cause string for an error chain. */
export function causeOf(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.AlreadyExists) return "file exists";
  if (err instanceof Deno.errors.NotADirectory) return "not a directory";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory";
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A failed system call: names the call, its argument and the errno. */
export class SyscallError extends DenkiError {
  override name = "SyscallError";
  constructor(readonly call: string, readonly target: string, readonly errno: number) {
    super(`${call} ${quote(target, PATH_QUOTE)}: ${describeErrno(errno)}`);
  }
}

/** How much of a path an error shows: enough for any real path, not for a planted one. */
export const PATH_QUOTE = 512;

/**
 * A value quoted for an error message (JSON string syntax), cut to its first `max` characters
 * with its full length noted: a bad value from a config may be megabytes long, and an error
 * is one short line.
 */
export function quote(value: string, max = 64): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}... (${value.length} characters)`;
}
