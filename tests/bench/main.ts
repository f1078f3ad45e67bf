/**
 * `deno task bench`: one markdown report from interleaved runs: command start-up, the
 * container lifecycle against runc (and crun where it runs), the lifecycle with a user
 * namespace against runc's, commands on a running container, `ctr run` through containerd,
 * memory, and the Wasm executor against node:wasi. BENCH_ROUNDS sets the rounds of quick
 * cases, BENCH_HEAVY_ROUNDS those of the long Wasm workloads;
 * BENCH_ONLY=startup,lifecycle,userns,cgroups,containerd,cri,memory,wasm picks sections.
 */
import { bundle } from "../../bin/bundle.ts";
import {
  CONTAINER_PACKAGES,
  ensurePrograms,
  hasProgram,
  WASM_TOOLCHAIN,
} from "../support/packages.ts";
import type { BenchContext } from "./context.ts";
import { lifecycleSection } from "./lifecycle.ts";
import { cgroupSection } from "./cgroups.ts";
import { usernsSection } from "./userns.ts";
import { containerdSection } from "./containerd.ts";
import { criSection } from "./cri.ts";
import { memorySection } from "./memory.ts";
import { startupSection } from "./startup.ts";
import { wasmSection } from "./wasm.ts";

const repo = new URL("../..", import.meta.url).pathname;

/** A busybox bundle maker, when containers can run here. */
function bundleMaker(dir: string): BenchContext["bundle"] {
  if (Deno.uid() !== 0 || !hasProgram("busybox")) return undefined;
  const rootfs = `${dir}/rootfs`;
  const built = new Deno.Command(`${repo}bundles/busybox/build-rootfs.sh`, { args: [rootfs] })
    .outputSync();
  if (!built.success) return undefined;
  let n = 0;
  return (...args: string[]) => {
    const b = `${dir}/bundle${n++}`;
    Deno.mkdirSync(b);
    const config = JSON.parse(Deno.readTextFileSync(`${repo}bundles/busybox/config.json`));
    config.process.args = args;
    // A version every peer knows (crun 1.8 refuses 1.3.0).
    config.ociVersion = "1.0.2";
    config.root.path = rootfs;
    Deno.writeTextFileSync(`${b}/config.json`, JSON.stringify(config));
    return b;
  };
}

async function main(): Promise<void> {
  ensurePrograms([
    ...CONTAINER_PACKAGES,
    { program: "crun", pkg: "crun" },
    ...WASM_TOOLCHAIN,
    { program: "node", pkg: "nodejs" },
    { file: "/usr/bin/time", pkg: "time" },
  ]);
  const only =
    (Deno.env.get("BENCH_ONLY") ?? "startup,lifecycle,userns,cgroups,containerd,cri,memory,wasm")
      .split(",");
  await bundle();
  const dir = Deno.makeTempDirSync({ prefix: "denki-bench-" });
  try {
    const maker = bundleMaker(dir);
    const ctx: BenchContext = {
      dir,
      rounds: Number(Deno.env.get("BENCH_ROUNDS") ?? 40),
      launcher: `${repo}bin/denki`,
      entry: `${repo}bin/.bundle/main.js`,
      flags: Deno.readTextFileSync(`${repo}bin/deno-flags`).trim().split(/\s+/),
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", DENKI_DENO: Deno.execPath() },
      runc: hasProgram("runc") && maker !== undefined,
      crun: hasProgram("crun") && maker !== undefined,
      ...(maker ? { bundle: maker } : {}),
    };
    console.log(`# denki benchmark\n`);
    console.log(
      `deno ${Deno.version.deno}, ${Deno.build.arch}, ${navigator.hardwareConcurrency} cpus, ` +
        `${new Date().toISOString()}\n`,
    );
    const sections = [
      ["startup", startupSection],
      ["lifecycle", lifecycleSection],
      ["userns", usernsSection],
      ["cgroups", cgroupSection],
      ["containerd", containerdSection],
      ["cri", criSection],
      ["memory", memorySection],
      ["wasm", wasmSection],
    ] as const;
    for (const [name, section] of sections) {
      if (only.includes(name)) console.log(`${await section(ctx)}\n`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
