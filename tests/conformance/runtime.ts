/**
 * What a conformance check gets: a `Runtime` (denki or runc, each with its own state root,
 * driven only through its command line) and a `Scratch` that makes bundles and containers for
 * one check and removes them all afterwards, whatever the check did.
 */
import assert from "node:assert/strict";
import { baseConfig, busyboxRootfs, type Json } from "../support/container.ts";
import { run as runProgram, type RunOptions, type RunResult } from "../support/denki.ts";

export type { Json, RunResult };

/** A runtime under test: its name and a way to run one of its commands. */
export interface Runtime {
  name: string;
  /** Runs `<runtime> --root <its root> ...args`. */
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
}

/** One spec requirement and the end-to-end check that proves a runtime meets it. */
export interface Check {
  /** Stable dotted name, e.g. `lifecycle.create.id-unique`. */
  id: string;
  /** Where the requirement comes from, e.g. `runtime.md#create` (or `runc CLI`). */
  section: string;
  /** The requirement in one line. */
  requirement: string;
  /**
   * Whether the check runs a workload. By default it does, and then it must prove the workload
   * ran: read back something the program itself printed or wrote (tests/conformance_test.ts
   * runs it with every program replaced by a stand-in, and it must fail). "none": no program
   * ever starts (create only, or a command that must fail); "must-not-run": the check passes
   * only if the program never runs.
   */
  workload?: "none" | "must-not-run";
  /** Why the check cannot run on this host (a missing kernel feature), or undefined. */
  needs?: () => string | undefined;
  /** Throws (an assertion error) when the runtime does not meet the requirement. */
  run(rt: Runtime): Promise<void>;
}

/** A runtime whose commands go to `program` (bin/denki when unset) with state under `root`. */
export function makeRuntime(name: string, root: string, program?: string): Runtime {
  return {
    name,
    run(args, opts = {}) {
      // A command that leaves a container behind must not hold our pipes: the container
      // inherits its stdio and would keep them open long after the command returned.
      const lingers = args[0] === "create" ||
        (args[0] === "run" && (args.includes("-d") || args.includes("--detach")));
      return runProgram(["--root", root, ...args], {
        files: lingers,
        ...opts,
        ...(program === undefined ? {} : { program }),
      });
    },
  };
}

let serial = 0;

/** A container id unlikely to clash with anything else on the host (cgroups are global). */
export function freshId(prefix = "cf"): string {
  return `${prefix}${Deno.pid}-${serial++}-${Math.floor(Math.random() * 1e6)}`;
}

/** A bundle made for a check. */
export interface Bundle {
  dir: string;
  rootfs: string;
  config: Json;
}

/** Bundles and containers of one check; `cleanup()` force-deletes and removes everything. */
export class Scratch {
  readonly dir = Deno.makeTempDirSync({ prefix: "denki-conf-" });
  #n = 0;

  constructor(readonly rt: Runtime) {}

  /** A host directory any user may write, seen as /shared by containers given `share`. */
  get shared(): string {
    const dir = `${this.dir}/shared`;
    try {
      Deno.mkdirSync(dir);
      Deno.chmodSync(dir, 0o777);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    return dir;
  }

  /** Adds a read-write bind mount of `shared` on /shared to a config. */
  share(c: Json): void {
    c.mounts.push({
      destination: "/shared",
      type: "bind",
      source: this.shared,
      options: ["rbind"],
    });
  }

  /** A bundle from runc's default container (terminal off) changed by `patch`. */
  bundle(patch: (c: Json) => void = () => {}): Bundle {
    const dir = `${this.dir}/bundle${this.#n++}`;
    Deno.mkdirSync(dir);
    const cp = new Deno.Command("cp", { args: ["-a", busyboxRootfs(), `${dir}/rootfs`] })
      .outputSync();
    if (!cp.success) throw new Error("cannot copy the busybox rootfs");
    const config = baseConfig();
    // A version every peer accepts: the checks use nothing newer.
    config.ociVersion = "1.0.2";
    patch(config);
    Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(config, null, 2));
    return { dir, rootfs: `${dir}/rootfs`, config };
  }

  /** Creates a container from a new bundle; asserts that create succeeded. */
  async create(patch: (c: Json) => void = () => {}): Promise<{ id: string; bundle: Bundle }> {
    const bundle = this.bundle(patch);
    const id = freshId();
    const r = await this.rt.run(["create", "--bundle", bundle.dir, id]);
    assert.equal(r.code, 0, `create: ${firstLine(r.stderr)}`);
    return { id, bundle };
  }

  /**
   * A config patch for a program that proves it ran: `script` runs after the program wrote
   * "ran" to /shared/<file> (see `ran`).
   */
  marking(script = "", file = "ran"): (c: Json) => void {
    return (c) => {
      this.share(c);
      c.process.args = ["sh", "-c", `echo ran > /shared/${file}${script ? `; ${script}` : ""}`];
    };
  }

  /** Waits until the program of `marking` has written its mark. */
  async ran(file = "ran", ms = 5000): Promise<void> {
    await waitFor(
      () => readOr(`${this.shared}/${file}`) === "ran\n",
      ms,
      () => `the program never ran (no mark in /shared/${file})`,
    );
  }

  /** Creates and starts a container (`run -d`); asserts success. */
  async detached(patch: (c: Json) => void = () => {}): Promise<{ id: string; bundle: Bundle }> {
    const bundle = this.bundle(patch);
    const id = freshId();
    const r = await this.rt.run(["run", "-d", "--bundle", bundle.dir, id]);
    assert.equal(r.code, 0, `run -d: ${firstLine(r.stderr)}`);
    return { id, bundle };
  }

  /** `run` in the foreground of a bundle whose process is `args`. */
  async runArgs(args: string[], patch: (c: Json) => void = () => {}): Promise<RunResult> {
    const bundle = this.bundle((c) => {
      c.process.args = args;
      patch(c);
    });
    return await this.rt.run(["run", "--bundle", bundle.dir, freshId()]);
  }

  /** Runs a shell script in a container; asserts exit 0 and returns its stdout. */
  async sh(script: string, patch: (c: Json) => void = () => {}): Promise<string> {
    const r = await this.runArgs(["sh", "-c", script], patch);
    assert.equal(r.code, 0, `run exited ${r.code}: ${firstLine(r.stderr)}`);
    return r.stdout;
  }

  /** The parsed `state` of a container; asserts the command succeeded. */
  async state(id: string): Promise<Json> {
    const r = await this.rt.run(["state", id]);
    assert.equal(r.code, 0, `state: ${firstLine(r.stderr)}`);
    return JSON.parse(r.stdout);
  }

  /** Waits until the container's status is `status`. */
  async waitStatus(id: string, status: string, ms = 5000): Promise<void> {
    let last = "";
    await waitFor(
      async () => {
        last = (await this.state(id)).status;
        return last === status;
      },
      ms,
      () => `status stayed "${last}", wanted "${status}"`,
    );
  }

  /** Force-deletes every container under the runtime's root, then removes the bundles. */
  async cleanup(): Promise<void> {
    const list = await this.rt.run(["list", "-q"]);
    for (const id of list.stdout.split("\n").filter((l) => l !== "")) {
      await this.rt.run(["delete", "--force", id]);
    }
    await unmountUnder(this.dir);
    Deno.removeSync(this.dir, { recursive: true });
  }
}

/** Runs `fn` with a fresh Scratch and always cleans it up. */
export async function withScratch(rt: Runtime, fn: (s: Scratch) => Promise<void>): Promise<void> {
  const s = new Scratch(rt);
  try {
    await fn(s);
  } finally {
    await s.cleanup();
  }
}

/**
 * Scales every wait of the checks. The self-test (tests/conformance_test.ts) shortens them: there
 * the marks never come, and each check only has to fail.
 */
export const waits = { scale: 1 };

/** Polls `check` every 20 ms until it holds; throws `why()` after `ms` (times `waits.scale`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  why: () => string = () => "timed out",
): Promise<void> {
  const end = Date.now() + ms * waits.scale;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(why());
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True when a process with this pid exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The first non-empty line of a command's output, for short failure reasons. */
export function firstLine(text: string): string {
  return text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "(no output)";
}

/** Reads a file, or "" when it does not exist. */
export function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** True when `path` exists (a dangling link counts as missing). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The namespace link of this (the checking) process, e.g. `uts:[4026531838]`. */
export function hostNs(kind: string): string {
  return Deno.readLinkSync(`/proc/self/ns/${kind}`);
}

// A failed check may leave a mount under its scratch directory (a runtime that leaked one);
// unmount it so the directory can go and the host stays clean.
async function unmountUnder(dir: string): Promise<void> {
  const info = readOr("/proc/self/mountinfo").split("\n").map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.startsWith(`${dir}/`)).reverse();
  for (const p of info) {
    await new Deno.Command("umount", { args: ["-l", p], stderr: "null" }).output();
  }
}
