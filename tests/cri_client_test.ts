/**
 * The tests' CRI client against a real CRI server: Debian's containerd with its CRI plugin,
 * started by hand in a temp dir inside private mount and network namespaces (so neither its
 * /run nor any network reaches the host), stopped by pid. No images, no pods: this checks the
 * transport (grpc-js under Deno over a unix socket), the codec on real replies and the error
 * form; the Kubernetes-path tests build on it.
 */
import assert from "node:assert/strict";
import { CriClient, CriError } from "./support/cri/client.ts";
import { program, root, testWith } from "./support/requires.ts";

const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The config of a containerd with CRI and nothing else it does not need, all under `dir`. */
function config(dir: string): string {
  const q = JSON.stringify;
  return [
    "version = 2",
    `root = ${q(`${dir}/root`)}`,
    `state = ${q(`${dir}/state`)}`,
    "disabled_plugins = [",
    ...[
      "io.containerd.snapshotter.v1.btrfs",
      "io.containerd.snapshotter.v1.zfs",
      "io.containerd.snapshotter.v1.aufs",
      "io.containerd.snapshotter.v1.devmapper",
      "io.containerd.internal.v1.opt",
      "io.containerd.internal.v1.tracing",
      "io.containerd.tracing.processor.v1.otlp",
    ].map((p) => `  ${q(p)},`),
    "]",
    "[grpc]",
    `  address = ${q(`${dir}/containerd.sock`)}`,
    "[ttrpc]",
    `  address = ${q(`${dir}/containerd.sock.ttrpc`)}`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    "  disable_apparmor = true",
    '[plugins."io.containerd.grpc.v1.cri".cni]',
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = ${q(`${dir}/cni`)}`,
  ].join("\n") + "\n";
}

/** Waits for `path` to exist, or for the child to exit (an error with the log's tail). */
async function waitForSocket(path: string, child: Deno.ChildProcess, log: string): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      if (Deno.statSync(path).isSocket) return;
    } catch { /* not yet */ }
    if (exited || Date.now() > end) {
      const tail = Deno.readTextFileSync(log).trim().split("\n").slice(-3).join(" | ");
      throw new Error(`containerd ${exited ? "exited" : "did not come up"}: ${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

testWith(
  "cri client: containerd's CRI plugin answers Version and Status, and a missing container is NOT_FOUND",
  [root(), program("containerd"), program("unshare"), program("ip")],
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "denki-cri-client-" });
    Deno.mkdirSync(`${dir}/run`);
    Deno.writeTextFileSync(`${dir}/config.toml`, config(dir));
    const log = `${dir}/containerd.log`;
    // unshare execs sh, which execs containerd: the child's pid is containerd's.
    const child = new Deno.Command("unshare", {
      args: [
        "--mount",
        "--net",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        'ip link set lo up && mount --bind "$1" /run && exec containerd --config "$2" >>"$3" 2>&1',
        "sh",
        `${dir}/run`,
        `${dir}/config.toml`,
        log,
      ],
      clearEnv: true,
      env: { PATH: HOST_PATH },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let client: CriClient | undefined;
    try {
      await waitForSocket(`${dir}/containerd.sock`, child, log);
      client = await CriClient.connect(`${dir}/containerd.sock`);

      const v = await client.version();
      assert.equal(v.runtimeName, "containerd");
      assert.equal(v.runtimeApiVersion, "v1");
      assert.match(v.runtimeVersion, /^1\.6\./);

      // RuntimeReady holds; NetworkReady does not (no CNI config in the temp dir).
      const conditions = (await client.status()).status?.conditions ?? [];
      const cond = Object.fromEntries(conditions.map((c) => [c.type, c]));
      assert.equal(cond["RuntimeReady"]?.status, true);
      assert.equal(cond["NetworkReady"]?.status, false);

      assert.deepEqual(await client.listPodSandbox(), []);
      assert.deepEqual(await client.listImages(), []);

      const err = await client.containerStatus({ containerId: "denki-no-such-container" })
        .then(() => undefined, (e) => e);
      assert.ok(err instanceof CriError, `not a CriError: ${err}`);
      assert.equal(err.codeName, "NOT_FOUND");
      assert.match(err.message, /^CRI ContainerStatus: NOT_FOUND: .*denki-no-such-container/);
      assert.doesNotMatch(err.message, /\n/);
    } finally {
      client?.close();
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          Deno.kill(child.pid, "SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      await child.status;
      clearTimeout(timer);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
