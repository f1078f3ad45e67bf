/**
 * Container test fixtures: a busybox rootfs built once per test process from Debian's
 * busybox-static, bundles made from a base config (runc's default container, terminal off)
 * plus a small patch, and a `Lab` that owns a state root and removes every container, bundle
 * and temp file it made, also when the test fails.
 */
import { defaultSpec } from "../../lib/spec/default.ts";
import { run, type RunOptions, type RunResult } from "./denki.ts";
import { program, type Requirement, root } from "./requires.ts";

const REPO = new URL("../..", import.meta.url).pathname;

/** What the container tests need from the machine. */
export const CONTAINER_REQS: Requirement[] = [root(), program("busybox")];

// deno-lint-ignore no-explicit-any
export type Json = any;

let template: string | undefined;

/** The busybox rootfs template (built on first use, removed when the test process ends). */
export function busyboxRootfs(): string {
  if (template !== undefined) return template;
  const dir = Deno.makeTempDirSync({ prefix: "denki-rootfs-" });
  const out = new Deno.Command(`${REPO}bundles/busybox/build-rootfs.sh`, {
    args: [`${dir}/rootfs`],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  template = `${dir}/rootfs`;
  return template;
}

/** The base config of container tests: runc's default container, without a terminal. */
export function baseConfig(): Json {
  const spec: Json = JSON.parse(JSON.stringify(defaultSpec({ rootless: false, uid: 0, gid: 0 })));
  spec.process.terminal = false;
  spec.process.env = ["PATH=/bin:/usr/bin", "TERM=xterm"];
  return spec;
}

/** A bundle directory with its own copy of the rootfs. */
export interface Bundle {
  dir: string;
  rootfs: string;
  config: Json;
}

/** Host mount table lines that mention `path` (to prove nothing leaked). */
export function hostMountsUnder(path: string): string[] {
  const text = new TextDecoder().decode(
    new Deno.Command("cat", { args: ["/proc/self/mountinfo"], stdout: "piped" }).outputSync()
      .stdout,
  );
  return text.split("\n").filter((l) => l.includes(path));
}

/** A state root and bundles for one test; `cleanup()` leaves nothing behind. */
export class Lab {
  readonly dir = Deno.makeTempDirSync({ prefix: "denki-lab-" });
  readonly root = `${this.dir}/state`;
  #bundles = 0;

  /**
   * A new bundle from the base config changed by `patch`; its rootfs is a copy of busybox's,
   * or what `fill` puts in an empty directory.
   */
  bundle(patch: (config: Json) => void = () => {}, fill?: (rootfs: string) => void): Bundle {
    const dir = `${this.dir}/bundle${this.#bundles++}`;
    Deno.mkdirSync(dir);
    if (fill) {
      Deno.mkdirSync(`${dir}/rootfs`);
      fill(`${dir}/rootfs`);
    } else {
      const cp = new Deno.Command("cp", { args: ["-a", busyboxRootfs(), `${dir}/rootfs`] })
        .outputSync();
      if (!cp.success) throw new Error("cannot copy the rootfs");
    }
    const config = baseConfig();
    patch(config);
    Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(config, null, 2));
    return { dir, rootfs: `${dir}/rootfs`, config };
  }

  /** Runs `denki --root <lab root> ...args` (stdio to files for commands that leave a container behind). */
  denki(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const lingers = args[0] === "create" ||
      ((args[0] === "run" || args[0] === "exec") &&
        (args.includes("-d") || args.includes("--detach")));
    return run(["--root", this.root, ...args], { files: lingers, ...opts });
  }

  /** `run` of a bundle whose process is `args`; returns what the container printed. */
  async runIn(args: string[], patch: (c: Json) => void = () => {}, id = "c1"): Promise<RunResult> {
    const b = this.bundle((c) => {
      c.process.args = args;
      patch(c);
    });
    return await this.denki(["run", "--bundle", b.dir, id]);
  }

  /** Ids of the containers that still have state. */
  containers(): string[] {
    try {
      // Directories only, as `list` has them (the root also keeps denki's own files).
      return [...Deno.readDirSync(this.root)].filter((e) => e.isDirectory).map((e) => e.name);
    } catch {
      return [];
    }
  }

  /** Deletes every container (force), then removes the lab directory. */
  async cleanup(): Promise<void> {
    for (const id of this.containers()) await this.denki(["delete", "--force", id]);
    Deno.removeSync(this.dir, { recursive: true });
  }
}

/** Runs `fn` with a fresh Lab and always cleans it up. */
export async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = new Lab();
  try {
    await fn(lab);
  } finally {
    await lab.cleanup();
  }
}

/** True once `pid` has exited (gone, or a zombie waiting to be reaped), polling up to `ms`. */
export async function exited(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    let state: string | undefined;
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    } catch {
      return true;
    }
    if (state === "Z" || state === "X") return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}
