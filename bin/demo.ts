/**
 * `deno task demo`: shows denki the way a user meets it, through bin/denki. Until the
 * lifecycle commands land it writes a bundle config with `spec`, validates the sample bundles
 * and shows `features`, `list` and `state`.
 */
import { bundle } from "./bundle.ts";
import { parseSpec } from "../lib/spec/parse.ts";

const repo = new URL("..", import.meta.url).pathname;
const launcher = `${repo}bin/denki`;
const env = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  DENKI_DENO: Deno.execPath(),
};

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

await bundle();
const dir = Deno.makeTempDirSync({ prefix: "denki-demo-" });
try {
  show(["--version"]);
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
  console.log("\nRunning containers comes with the lifecycle commands (create/start/run).");
} finally {
  Deno.removeSync(dir, { recursive: true });
}
