/**
 * The Kubernetes path: the test plays the kubelet against containerd's CRI plugin
 * (tests/support/cri/node.ts), once per runtime handler: `runc` (the comparison: it checks the
 * tests themselves), `denki-runc` (containerd's runc shim with BinaryName = denki) and `denki`
 * (denki's own shim). Per handler: a pod on the CNI bridge with two containers that share its
 * network, IPC, UTS and pid namespaces and see each other; status while running and after
 * exits with their codes and reasons; ExecSync; the CRI log files; memory and CPU resources in
 * the cgroups; and stop/remove leaving nothing behind. The denki handlers also run the Wasm
 * image in a pod on the node's network. Every check reads back what a workload wrote.
 */
import assert from "node:assert/strict";
import { testWith } from "./support/requires.ts";
import { type ContainerInit, CRI_REQS, type CriNode, withCriNode } from "./support/cri/node.ts";
import { type Handler, HANDLERS, POD_SUBNET } from "./support/cri/node_config.ts";
import { ContainerState, ProfileType } from "./support/cri/messages.ts";
import { WASM_IMAGE, WASM_IMAGE_ENV } from "./support/containerd.ts";
import { alive, ppidOf, v1Mount, waitFor } from "./support/shim.ts";
import { cgroupsNamed } from "./support/cgroup_cleanup.ts";
import { procsIn } from "./support/cgroups.ts";

const dec = new TextDecoder();
const MiB = 1 << 20;

/** The pids in a v1 `controller` cgroup at `path`. */
function pidsIn(controller: string, path: string): number[] {
  return procsIn(`${v1Mount(controller)}${path}`);
}

/** The namespace link of `pid` for `kind` (net, ipc, uts, pid). */
const ns = (pid: number, kind: string) => Deno.readLinkSync(`/proc/${pid}/ns/${kind}`);

/** ExecSync as text; fails the test on a non-zero status unless `status` is given. */
async function execText(node: CriNode, id: string, cmd: string[]): Promise<string> {
  const r = await node.cri.execSync({ containerId: id, cmd, timeout: 30n });
  assert.equal(r.exitCode, 0, `exec ${cmd.join(" ")}: ${dec.decode(r.stderr)}`);
  return dec.decode(r.stdout);
}

/** Waits until container `id` has exited, and returns its status. */
async function exitedStatus(node: CriNode, id: string) {
  let status = await node.containerStatus(id);
  await waitFor(`container ${id} to exit`, async () => {
    status = await node.containerStatus(id);
    return status.state === ContainerState.CONTAINER_EXITED;
  });
  return status;
}

/** The log lines of a CRI log file: `<time> <stream> <tag> <text>`. */
function criLog(path: string): { stream: string; tag: string; text: string }[] {
  return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "").map((l) => {
    const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/.exec(l);
    assert.ok(m !== null, `a CRI log line: ${l}`);
    assert.ok(!Number.isNaN(Date.parse(m[1]!)), `an RFC 3339 time: ${m[1]}`);
    return { stream: m[2]!, tag: m[3]!, text: m[4]! };
  });
}

/** The web container: serves a page on port 7000, for the other container to fetch. */
const WEB = [
  "sh",
  "-c",
  "mkdir -p /tmp/www && echo pong-from-web > /tmp/www/index.html && echo web-up && " +
  "exec httpd -f -p 7000 -h /tmp/www",
];

async function twoContainerPod(node: CriNode, handler: Handler): Promise<void> {
  const pod = node.podConfig("two", { sharePid: true, hostname: "denki-pod" });
  const web = node.containerConfig("web", WEB, {
    linux: { resources: { memoryLimitInBytes: BigInt(64 * MiB), cpuShares: 512n } },
  });
  const client = node.containerConfig("client", ["sleep", "1000"]);
  const { podId, ids: [webId, clientId] } = await node.runPod(handler, pod, [web, client]);
  assert.ok(webId !== undefined && clientId !== undefined);
  const parent = node.cgroupParent("two");

  // Running, with the processes in the cgroups the kubelet's parent names.
  for (const id of [webId, clientId]) {
    const s = await node.containerStatus(id);
    assert.equal(s.state, ContainerState.CONTAINER_RUNNING, `${id} running`);
  }
  const [pausePid] = pidsIn("memory", `${parent}/${podId}`);
  const [webPid] = pidsIn("memory", `${parent}/${webId}`);
  const [clientPid] = pidsIn("memory", `${parent}/${clientId}`);
  assert.ok(pausePid && webPid && clientPid, "a process in each container's cgroup");
  for (const [id, pid] of [[podId, pausePid], [webId, webPid], [clientId, clientPid]] as const) {
    assertRoute(node, handler, id, pid);
  }
  const sandbox = await node.cri.podSandboxStatus({ podSandboxId: podId });
  assert.equal(sandbox.status?.runtimeHandler, handler);

  // The pod's namespaces: the containers are in the sandbox's, which are not the host's.
  for (const kind of ["net", "ipc", "uts", "pid"]) {
    assert.equal(ns(webPid, kind), ns(pausePid, kind), `web in the pod's ${kind} namespace`);
    assert.equal(ns(clientPid, kind), ns(pausePid, kind), `client in the pod's ${kind} namespace`);
    assert.notEqual(
      ns(pausePid, kind),
      ns(Deno.pid, kind),
      `the pod has its own ${kind} namespace`,
    );
  }
  // ... and the workloads see each other through them.
  await waitFor("the web container's marker", () => {
    try {
      return criLog(`${node.logDir("two")}/web.log`).some((l) => l.text === "web-up");
    } catch {
      return false;
    }
  });
  assert.equal(
    await execText(node, clientId, ["wget", "-q", "-O", "-", "http://127.0.0.1:7000/"]),
    "pong-from-web\n",
    "the client reaches the web server on the pod's loopback",
  );
  assert.equal((await execText(node, clientId, ["hostname"])).trim(), "denki-pod");
  const ps = await execText(node, clientId, ["ps", "-o", "args"]);
  assert.match(ps, /httpd -f -p 7000/, "the client sees the web server's process");
  assert.match(ps, /sleep 2147483647/, "and the sandbox's");
  // IPC: the pod's shared memory (its /dev/shm) is one between the containers.
  await execText(node, webId, ["sh", "-c", "echo shm-marker > /dev/shm/from-web"]);
  assert.equal(await execText(node, clientId, ["cat", "/dev/shm/from-web"]), "shm-marker\n");
  // The pod's address on the bridge is the one its containers have.
  const ip = sandbox.status?.network?.ip ?? "";
  assert.ok(ip.startsWith(POD_SUBNET.split(".").slice(0, 2).join(".") + "."), `pod ip ${ip}`);
  const addr = await execText(node, webId, ["ip", "-4", "addr", "show", "eth0"]);
  assert.ok(addr.includes(`inet ${ip}/`), `the pod's ip on the web container's eth0: ${addr}`);

  // Resources from the container's config reach its cgroup.
  assert.equal(
    Deno.readTextFileSync(`${v1Mount("memory")}${parent}/${webId}/memory.limit_in_bytes`).trim(),
    String(64 * MiB),
  );
  assert.equal(
    Deno.readTextFileSync(`${v1Mount("cpu")}${parent}/${webId}/cpu.shares`).trim(),
    "512",
  );

  // ExecSync: output and status.
  const ex = await node.cri.execSync({
    containerId: webId,
    cmd: ["sh", "-c", "echo exec-out; echo exec-err >&2; exit 7"],
    timeout: 30n,
  });
  assert.equal(dec.decode(ex.stdout), "exec-out\n");
  assert.equal(dec.decode(ex.stderr), "exec-err\n");
  assert.equal(ex.exitCode, 7);

  // A container that exits by itself: its code, reason and log.
  const quitter = node.containerConfig("quitter", [
    "sh",
    "-c",
    'echo "out-$POD_CONTAINER"; echo err-marker >&2; exit 3',
  ]);
  const quitId = await node.startContainer(podId, pod, quitter);
  const quit = await exitedStatus(node, quitId);
  assert.equal(quit.exitCode, 3);
  assert.equal(quit.reason, "Error");
  assert.deepEqual(
    criLog(`${node.logDir("two")}/quitter.log`).map((l) => [l.stream, l.tag, l.text]).sort(),
    [["stderr", "F", "err-marker"], ["stdout", "F", "out-quitter"]],
  );
  const zero = node.containerConfig("done", ["sh", "-c", "echo done-marker"]);
  const zeroId = await node.startContainer(podId, pod, zero);
  const done = await exitedStatus(node, zeroId);
  assert.equal(done.exitCode, 0);
  assert.equal(done.reason, "Completed");

  // StopContainer: the web server goes (SIGTERM), and its status says how.
  await node.cri.stopContainer(webId, 10);
  const stopped = await node.containerStatus(webId);
  assert.equal(stopped.state, ContainerState.CONTAINER_EXITED);
  assert.equal(stopped.exitCode, 128 + 15, "httpd ended by SIGTERM");

  // Removing everything leaves nothing: no containers, no processes, no cgroups, no mounts,
  // no network namespace, no address.
  for (const id of [webId, clientId, quitId, zeroId]) {
    await node.cri.stopContainer(id, 10);
    await node.cri.removeContainer(id);
  }
  await node.removePod(podId, parent);
  assert.deepEqual(await node.cri.listContainers(), []);
  for (const pid of [pausePid, webPid, clientPid]) assert.ok(!alive(pid), `pid ${pid} gone`);
  assert.deepEqual(cgroupsNamed(parent.slice(1)), [], "no container cgroup left in the pod's");
  assert.deepEqual(node.mountsInContainerd(), [], "no mounts left in containerd's namespace");
  assert.deepEqual(node.netnsLeft(), []);
  assert.deepEqual(node.ipsLeft(), []);
  await waitFor("the pod's shim to exit", () => node.shimPids().length === 0);
}

/** The args of the shim process `pid` runs under (its nearest containerd-shim ancestor). */
function shimOf(pid: number): string[] {
  for (let p = ppidOf(pid); p !== undefined && p > 1; p = ppidOf(p)) {
    const args = Deno.readTextFileSync(`/proc/${p}/cmdline`).split("\0");
    if (args.some((a) => a.includes("containerd-shim"))) return args;
  }
  return [];
}

/**
 * That the handler's route ran container `id` (process `pid`): denki's shim (its daemon is the
 * process's ancestor), or containerd's runc shim with denki (the wrapper logged the create)
 * or with runc (denki never called).
 */
function assertRoute(node: CriNode, handler: Handler, id: string, pid: number): void {
  const shim = shimOf(pid).join(" ");
  const viaDenki = node.ctrd.rootOfCreate(id) !== undefined;
  if (handler === "denki") {
    assert.match(shim, /--containerd-shim-v2/, `${id} runs under denki's shim: ${shim}`);
  } else {
    assert.match(shim, /containerd-shim-runc-v2/, `${id} runs under the runc shim: ${shim}`);
  }
  assert.equal(viaDenki, handler === "denki-runc", `denki created ${id} through the runc shim`);
}

for (const handler of HANDLERS) {
  testWith(
    `CRI [${handler}]: a pod of two containers sharing its namespaces; status, exec, logs, resources, removal`,
    CRI_REQS,
    () => withCriNode((node) => twoContainerPod(node, handler)),
  );
}

/** The Wasm image as a pod's container, with the annotation that asks for the Wasm executor. */
function wasmContainer(node: CriNode, name: string, linux: ContainerInit["linux"] = {}) {
  return node.containerConfig(name, [], {
    image: { image: WASM_IMAGE },
    command: [],
    annotations: { "module.wasm.image/variant": "compat" },
    linux,
  });
}

/**
 * The container securityContext of Kubernetes' "restricted" Pod Security Standard: not root,
 * all capabilities dropped, a read-only root, the runtime's default seccomp profile (an
 * allowlist), and no privilege escalation (no_new_privs), which `escalation` turns back on
 * (the Kubernetes default), so the filter is installed while the init still has the power to.
 */
function restricted(escalation: boolean) {
  return {
    runAsUser: { value: 65534n },
    runAsGroup: { value: 65534n },
    readonlyRootfs: true,
    noNewPrivs: !escalation,
    capabilities: { dropCapabilities: ["ALL"] },
    seccomp: { profileType: ProfileType.RuntimeDefault },
  };
}

const REPORT = [
  "sh",
  "-c",
  'echo "uid=$(id -u) gid=$(id -g)"; grep -E "^(NoNewPrivs|Seccomp|CapEff):" /proc/self/status; ' +
  "touch /x 2>/dev/null && echo rootfs-writable || echo rootfs-read-only; echo restricted-marker",
];

/**
 * Containers under the restricted profile, with and without no_new_privs (and, for the denki
 * handlers, the Wasm image under it too): each runs to its marker, and what it reports of
 * itself is what the profile asks for.
 */
async function restrictedPod(node: CriNode, handler: Handler): Promise<void> {
  const pod = node.podConfig("restricted");
  const containers = [true, false].map((escalation) =>
    node.containerConfig(`escalation-${escalation}`, REPORT, {
      linux: { securityContext: restricted(escalation) },
    })
  );
  if (handler !== "runc") {
    containers.push(wasmContainer(node, "wasm", { securityContext: restricted(false) }));
  }
  const { podId, ids } = await node.runPod(handler, pod, containers);
  for (const [i, id] of ids.entries()) {
    const status = await exitedStatus(node, id);
    const name = status.metadata?.name ?? id;
    assert.equal(status.exitCode, 0, `${name}: ${status.message}`);
    const text = criLog(`${node.logDir("restricted")}/${containers[i]!.logPath}`)
      .map((l) => l.text);
    if (name === "wasm") {
      assert.equal(text[0], "Hello from a denki Wasm container. My environment:");
      continue;
    }
    assert.deepEqual(text, [
      "uid=65534 gid=65534",
      "CapEff:\t0000000000000000",
      `NoNewPrivs:\t${name === "escalation-false" ? 1 : 0}`,
      "Seccomp:\t2",
      "rootfs-read-only",
      "restricted-marker",
    ], name);
  }
  for (const id of ids) await node.cri.removeContainer(id);
  await node.removePod(podId, node.cgroupParent("restricted"));
}

for (const handler of HANDLERS) {
  testWith(
    `CRI [${handler}]: the restricted profile (non-root, no capabilities, read-only root, RuntimeDefault seccomp, with and without no_new_privs)`,
    CRI_REQS,
    () => withCriNode((node) => restrictedPod(node, handler)),
  );
}

/** A variable planted in containerd's (and so its shims') environment. */
const SECRET = "DENKI_CRI_SECRET";

/**
 * The Wasm image in a pod on the node's network: the container's config carries the Wasm
 * annotation (which the denki handlers pass on); the guest's output, in the CRI log, is
 * exactly the OCI config's environment (the image's, the container config's and CRI's
 * HOSTNAME), never containerd's.
 */
async function wasmPod(node: CriNode, handler: Handler): Promise<void> {
  const pod = node.podConfig("wasm", { hostNetwork: true });
  const { podId, ids: [id] } = await node.runPod(handler, pod, [
    wasmContainer(node, "hello"),
  ]);
  assert.ok(id !== undefined);
  const status = await exitedStatus(node, id);
  assert.equal(status.exitCode, 0, status.message);
  assert.equal(status.reason, "Completed");
  const verbose = await node.cri.containerStatus({ containerId: id, verbose: true });
  const spec = JSON.parse(verbose.info["info"] ?? "{}").runtimeSpec;
  assert.equal(spec?.annotations?.["module.wasm.image/variant"], "compat", "annotation passed on");
  const env: string[] = spec.process.env;
  for (const e of [...WASM_IMAGE_ENV, "POD_CONTAINER=hello"]) assert.ok(env.includes(e), e);
  const lines = criLog(`${node.logDir("wasm")}/hello.log`);
  assert.ok(lines.every((l) => l.stream === "stdout" && l.tag === "F"), JSON.stringify(lines));
  assert.equal(lines[0]?.text, "Hello from a denki Wasm container. My environment:");
  assert.deepEqual(lines.slice(1).map((l) => l.text).filter((t) => t !== ""), env);
  assert.ok(!lines.some((l) => l.text.includes(SECRET)), "containerd's environment kept out");
  assert.equal(node.ctrd.rootOfCreate(id) !== undefined, handler === "denki-runc");
  await node.cri.removeContainer(id);
  await node.removePod(podId, node.cgroupParent("wasm"));
  assert.deepEqual(await node.cri.listContainers(), []);
}

for (const handler of HANDLERS.filter((h) => h !== "runc")) {
  testWith(
    `CRI [${handler}]: the Wasm image in a pod on the node's network, with exactly its config's environment`,
    CRI_REQS,
    () => withCriNode((node) => wasmPod(node, handler), { [SECRET]: "leak-c3d4" }),
  );
}

testWith(
  "CRI: a pod with hostUsers: false (a user namespace)",
  [
    "Debian's containerd 1.6.20 CRI plugin cannot ask for a user namespace (userns_options " +
    "came with 1.7); denki runs them (tests/userns_test.ts)",
  ],
  () => {},
);
