/**
 * `deno task conformance`: runs every spec-driven end-to-end check against denki and, when it
 * is installed, against runc with the very same bundles and commands, then prints one markdown
 * table (requirement, section, denki, runc) and the totals. Exits 1 when a denki check fails.
 * CONFORMANCE_ONLY=a,b keeps the checks whose id contains one of those strings.
 */
import { AssertionError } from "node:assert/strict";
import { bundle } from "../../bin/bundle.ts";
import { ensurePrograms, hasProgram } from "../support/packages.ts";
import { type Check, firstLine, makeRuntime, type Runtime } from "./runtime.ts";
import { CHECKS } from "./checks/mod.ts";

/** How one check went on one runtime. */
export type Outcome =
  | { kind: "pass" }
  | { kind: "fail"; reason: string }
  | { kind: "skip"; reason: string };

/** A check should finish well within this; past it the check counts as failed. */
const CHECK_TIMEOUT_MS = 60_000;

/** Runs one check, turning an exception into a short failure reason. */
export async function runCheck(check: Check, rt: Runtime): Promise<Outcome> {
  const missing = check.needs?.();
  if (missing !== undefined) return { kind: "skip", reason: missing };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS / 1000}s`)),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([check.run(rt), timeout]);
    return { kind: "pass" };
  } catch (e) {
    return { kind: "fail", reason: shortReason(e) };
  } finally {
    clearTimeout(timer);
  }
}

/** The first line of an error (an assertion's message), short enough for a table cell. */
export function shortReason(e: unknown): string {
  // runc's errors come as logrus records: keep the message.
  let line = firstLine(e instanceof Error ? e.message : String(e))
    .replace(/time="[^"]*" level=\w+ msg=/, "");
  // An assertion's own message says little ("Expected values to be strictly equal:"): show
  // the values, after the check's message when it gave one.
  if (e instanceof AssertionError && e.operator !== "==" && e.operator !== "fail") {
    const got = `got ${brief(e.actual)}`;
    line = e.generatedMessage ? `${got}, want ${brief(e.expected)}` : `${line} (${got})`;
  }
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

function brief(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

/** A table cell for an outcome (pipes escaped so the markdown stays one row). */
export function cell(o: Outcome): string {
  const text = o.kind === "pass" ? "pass" : `${o.kind === "fail" ? "FAIL" : "skip"}: ${o.reason}`;
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The checks CONFORMANCE_ONLY selects: ids containing any of its comma-separated parts. */
export function selected(only: string | undefined): Check[] {
  const parts = (only ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  return CHECKS.filter((c) => parts.length === 0 || parts.some((p) => c.id.includes(p)));
}

function totals(outcomes: Outcome[]): string {
  const n = (k: Outcome["kind"]) => outcomes.filter((o) => o.kind === k).length;
  return `${n("pass")} passed, ${n("fail")} failed, ${n("skip")} skipped`;
}

/** Why runc cannot be the peer here, or undefined when it can. */
function runcMissing(): string | undefined {
  if (!hasProgram("runc")) return "runc is not installed";
  return undefined;
}

async function main(): Promise<number> {
  console.log("# denki conformance\n");
  if (Deno.uid() !== 0) {
    console.log("skipped: the checks start containers, which needs root");
    return 0;
  }
  ensurePrograms([{ program: "busybox", pkg: "busybox-static" }]);
  if (!hasProgram("busybox")) {
    console.log("skipped: busybox is not installed (apt-get install busybox-static)");
    return 0;
  }
  // bin/denki runs the pre-built bundle while it is fresh: check what callers run.
  await bundle();
  const checks = selected(Deno.env.get("CONFORMANCE_ONLY"));
  if (checks.length === 0) {
    console.log(`no check id contains any of CONFORMANCE_ONLY=${Deno.env.get("CONFORMANCE_ONLY")}`);
    return 1;
  }
  const roots = Deno.makeTempDirSync({ prefix: "denki-conformance-" });
  const denki = makeRuntime("denki", `${roots}/denki`);
  const noRunc = runcMissing();
  const runc = noRunc === undefined ? makeRuntime("runc", `${roots}/runc`, "runc") : undefined;
  const rows: { check: Check; denki: Outcome; runc: Outcome }[] = [];
  try {
    for (const check of checks) {
      const d = await runCheck(check, denki);
      const r: Outcome = runc ? await runCheck(check, runc) : { kind: "skip", reason: noRunc! };
      console.error(`${check.id}: denki ${cell(d)}; runc ${cell(r)}`);
      rows.push({ check, denki: d, runc: r });
    }
  } finally {
    Deno.removeSync(roots, { recursive: true });
  }
  console.log(
    `deno ${Deno.version.deno}, ${Deno.build.arch}, ${new Date().toISOString()}` +
      (noRunc ? `; runc skipped: ${noRunc}` : "") + "\n",
  );
  console.log("| requirement | section | denki | runc |");
  console.log("| --- | --- | --- | --- |");
  for (const { check, denki, runc } of rows) {
    const req = `\`${check.id}\` ${check.requirement}`.replaceAll("|", "\\|");
    console.log(`| ${req} | ${check.section} | ${cell(denki)} | ${cell(runc)} |`);
  }
  console.log(`\ndenki: ${totals(rows.map((r) => r.denki))}`);
  console.log(`runc: ${noRunc ? `skipped (${noRunc})` : totals(rows.map((r) => r.runc))}`);
  const differ = rows.filter((r) => !noRunc && r.denki.kind !== r.runc.kind);
  if (differ.length > 0) {
    console.log(`\ndenki and runc differ on: ${differ.map((r) => `\`${r.check.id}\``).join(", ")}`);
  }
  return rows.some((r) => r.denki.kind === "fail") ? 1 : 0;
}

if (import.meta.main) Deno.exitCode = await main();
