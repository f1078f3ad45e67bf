/** config.json text to a validated Spec, or a SpecError listing every problem. */
import { SpecError, type SpecIssue } from "../errors.ts";
import {
  type Process,
  processSchema,
  type Resources,
  resourcesSchema,
  type Spec,
  specSchema,
} from "./config.ts";
import { parseJsonExact } from "./schema.ts";
import { validateSpec } from "./validate.ts";

/**
 * The largest config.json denki takes: 64 Mi characters. Real configs are kilobytes (Kubernetes
 * caps all of an object's annotations at 256 KiB); the whole text also crosses the channel to
 * the container init, whose messages are capped (lib/sync.ts) with room for this one.
 */
export const MAX_CONFIG_CHARS = 64 * 1024 * 1024;

/**
 * Parses and validates config.json text. Structural problems (wrong types, missing required
 * fields) are all reported together; when there are none, every semantic rule runs and all of
 * its findings are reported together. `file` names the config in messages.
 */
export function parseSpec(
  text: string,
  file = "config.json",
  opts: { validate?: boolean } = {},
): Spec {
  if (text.length > MAX_CONFIG_CHARS) {
    throw new SpecError(file, [{
      path: "",
      message:
        `the file has ${text.length} characters, more than the ${MAX_CONFIG_CHARS} (64 Mi) denki accepts`,
    }]);
  }
  let data: unknown;
  try {
    data = parseJsonExact(text);
  } catch (err) {
    const why = text.trim() === "" ? "the file is empty" : (err as Error).message;
    throw new SpecError(file, [{ path: "", message: `not valid JSON: ${why}` }]);
  }
  const issues: SpecIssue[] = [];
  const spec = specSchema.parse(data, "", issues);
  if (spec === undefined || issues.length > 0) {
    if (issues.length === 0) issues.push({ path: "", message: "must be a JSON object" });
    throw new SpecError(file, issues);
  }
  // The container init re-reads a config `create` has already validated: cold validation code
  // costs milliseconds on every container start.
  if (opts.validate === false) return spec;
  const problems = validateSpec(spec);
  if (problems.length > 0) throw new SpecError(file, problems);
  return spec;
}

/** Parses one JSON object with `schema`; every structural problem is reported at once. */
function parsePart<T>(
  schema: { parse(v: unknown, path: string, issues: SpecIssue[]): T | undefined },
  text: string,
  file: string,
): T {
  let data: unknown;
  try {
    data = parseJsonExact(text);
  } catch (err) {
    throw new SpecError(file, [{ path: "", message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const issues: SpecIssue[] = [];
  const value = schema.parse(data, "", issues);
  if (value === undefined || issues.length > 0) {
    if (issues.length === 0) issues.push({ path: "", message: "must be a JSON object" });
    throw new SpecError(file, issues);
  }
  return value;
}

/** Parses a `linux.resources` object on its own (`update --resources`); `file` names it. */
export function parseResources(text: string, file: string): Resources {
  return parsePart(resourcesSchema, text, file);
}

/** Parses a `process` object on its own (`exec --process`); `file` names it. */
export function parseProcess(text: string, file: string): Process {
  return parsePart(processSchema, text, file);
}
