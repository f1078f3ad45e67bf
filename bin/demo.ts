/**
 * `deno task demo`: shows denki the way a user meets it, through bin/denki: the sample
 * busybox bundle run as a container (as root, with busybox-static installed), the same one
 * created, started, listed and deleted step by step, then `spec` and `features`.
 */
import { bundle } from "./bundle.ts";
import { parseSpec } from "../lib/spec/parse.ts";
import { ensurePrograms } from "../tests/support/packages.ts";

const repo = new URL("..", import.meta.url).pathname;
const launcher = `${repo}bin/denki`;
const env: Record<string, string> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  DENKI_DENO: Deno.execPath(),
};

/** Like `show`, for a command that leaves a container behind holding its stdio. */
function showDetached(args: string[]): void {
  console.log(`\n$ denki ${args.join(" ")}`);
  const out = new Deno.Command(launcher, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  })
    .outputSync();
  if (out.code !== 0) console.log(`(exit status ${out.code})`);
}

function show(args: string[], cwd?: string): number {
  console.log(`\n$ denki ${args.join(" ")}`);
  const out = new Deno.Command(launcher, {
    args,
    env,
    clearEnv: true,
    ...(cwd ? { cwd } : {}),
    stdout: "inherit",
    stderr: "inherit",
  }).outputSync();
  if (out.code !== 0) console.log(`(exit status ${out.code})`);
  return out.code;
}

/** Runs the busybox sample bundle from a temp copy (its rootfs is built there). */
function busyboxDemo(dir: string): void {
  if (Deno.uid() !== 0) {
    console.log("\n(containers need root: run the demo as root to see them)");
    return;
  }
  ensurePrograms([{ program: "busybox", pkg: "busybox-static" }]);
  const b = `${dir}/busybox`;
  Deno.mkdirSync(b);
  Deno.copyFileSync(`${repo}bundles/busybox/config.json`, `${b}/config.json`);
  const built = new Deno.Command(`${repo}bundles/busybox/build-rootfs.sh`, {
    args: [`${b}/rootfs`],
  })
    .outputSync();
  if (!built.success) {
    console.log("\n(cannot build the busybox rootfs: is busybox-static installed?)");
    return;
  }
  const state = `${dir}/state`;
  // The caller's environment holds a secret; the container must not see it.
  env.DEMO_SECRET = "do-not-leak";
  console.log("\nThe sample bundle, with DEMO_SECRET set in denki's own environment:");
  show(["--root", state, "run", "--bundle", b, "demo"]);
  console.log("\nThe same container step by step:");
  const config = JSON.parse(Deno.readTextFileSync(`${b}/config.json`));
  config.process.args = ["sleep", "30"];
  Deno.writeTextFileSync(`${b}/config.json`, JSON.stringify(config, null, 2));
  showDetached(["--root", state, "create", "--bundle", b, "demo2"]);
  show(["--root", state, "list"]);
  show(["--root", state, "start", "demo2"]);
  show(["--root", state, "state", "demo2"]);
  show(["--root", state, "kill", "demo2", "KILL"]);
  show(["--root", state, "delete", "--force", "demo2"]);
  show(["--root", state, "list"]);
}

/** Runs the hello-wasm sample (in the Wasm sandbox: no root needed) with a secret set. */
function wasmDemo(dir: string): void {
  console.log("\nThe hello-wasm sample, with DEMO_SECRET set in denki's own environment:");
  env.DEMO_SECRET = "do-not-leak";
  show(["--root", `${dir}/state`, "run", "--bundle", `${repo}bundles/hello-wasm`, "hello"]);
}

await bundle();
const dir = Deno.makeTempDirSync({ prefix: "denki-demo-" });
try {
  show(["--version"]);
  wasmDemo(dir);
  busyboxDemo(dir);
  show(["spec", "--bundle", dir]);
  const spec = parseSpec(Deno.readTextFileSync(`${dir}/config.json`));
  console.log(`(wrote ${dir}/config.json: runs ${JSON.stringify(spec.process?.args)})`);
  show(["features"]);
  show(["--root", `${dir}/state`, "list"]);
  show(["--root", `${dir}/state`, "state", "demo"]);
  console.log("\nSample bundles:");
  for (const entry of Deno.readDirSync(`${repo}bundles`)) {
    if (!entry.isDirectory) continue;
    const file = `${repo}bundles/${entry.name}/config.json`;
    const s = parseSpec(Deno.readTextFileSync(file), file);
    console.log(`  ${entry.name}: valid config, process ${JSON.stringify(s.process?.args)}`);
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
