/**
 * A Kubernetes node without a kubelet, owned by one test: Debian's containerd with its CRI
 * plugin (the harness of tests/support/containerd.ts with `cri`: private mount and network
 * namespaces, everything under one temp dir), the handlers and CNI bridge of node_config.ts, the
 * test images in the `k8s.io` namespace, and a CRI client on its socket. The test plays the
 * kubelet: it builds pod and container configs as the kubelet would and calls the CRI.
 *
 * Pods get `/<instance name>/<pod name>` as their cgroup parent, so the harness can remove
 * every cgroup the node made, and their logs under the temp dir. `stop` removes what a test
 * left (pods through the CRI, then everything the containerd harness removes) and counts it,
 * and also counts pod network namespaces and IP allocations that outlived their pods.
 */
import { Containerd, CONTAINERD_REQS, isSpare, mountsUnder, pidsWhere } from "../containerd.ts";
import { program, type Requirement } from "../requires.ts";
import { withHarness } from "../harness.ts";
import { exists } from "../fs.ts";
import { cgroupHierarchies } from "../cgroup_cleanup.ts";
import { BUSYBOX_IMAGE } from "../test_images.ts";
import { cniConflist, criToml, type Handler, type NodePaths } from "./node_config.ts";
import { CriClient } from "./client.ts";
import type { MessageInit } from "../../../lib/shim/proto/wire.ts";
import {
  type ContainerConfig,
  type ContainerStatus,
  NamespaceMode,
  type PodSandboxConfig,
} from "./messages.ts";

/** A pod or container config as a test writes it (any field may be left out). */
export type PodInit = MessageInit<PodSandboxConfig>;
export type ContainerInit = MessageInit<ContainerConfig>;

/** What the CRI tests need beyond containerd: the CNI plugins and iproute2. */
export const CRI_REQS: Requirement[] = [
  ...CONTAINERD_REQS,
  program("ip"),
  exists("/usr/lib/cni/bridge") ? undefined : "the CNI plugins are not installed",
];

/** How a test's pod is laid out. */
export interface PodOptions {
  /** Share the pod's pid namespace (the kubelet's `shareProcessNamespace`). */
  sharePid?: boolean;
  /** The node's network namespace instead of one on the CNI bridge (`hostNetwork`). */
  hostNetwork?: boolean;
  hostname?: string;
}

let pods = 0;

/** Removes cgroup `path` from every hierarchy where it exists and is empty. */
function rmdirCgroup(path: string): void {
  for (const h of cgroupHierarchies()) {
    try {
      Deno.removeSync(`${h}${path}`);
    } catch {
      // not there, or not empty: then the harness's cleanup counts what is inside
    }
  }
}

/** Where a node's config puts things, in its containerd's temp dir. */
function nodePaths(c: Containerd): NodePaths {
  return {
    denki: c.denki,
    cniConf: `${c.dir}/cni/net.d`,
    ipamData: `${c.dir}/cni/ipam`,
    snapshotter: c.snapshotter,
  };
}

/** One CRI node. */
export class CriNode {
  readonly ctrd: Containerd;
  readonly paths: NodePaths;
  #client: CriClient | undefined;

  constructor() {
    this.ctrd = new Containerd({ toml: (c) => criToml(nodePaths(c)) });
    this.paths = nodePaths(this.ctrd);
  }

  /** The CRI client (after start). */
  get cri(): CriClient {
    if (this.#client === undefined) throw new Error("CRI node: not started");
    return this.#client;
  }

  /** Where pod `name`'s container logs go. */
  logDir(pod: string): string {
    return `${this.ctrd.dir}/pods/${pod}`;
  }

  /** The cgroup (relative to each hierarchy) a pod's containers go under. */
  cgroupParent(pod: string): string {
    return `/${this.ctrd.name}/${pod}`;
  }

  /** Starts containerd with CRI (its environment plus `env`) and imports the images. */
  async start(env: Record<string, string> = {}): Promise<void> {
    Deno.mkdirSync(this.paths.cniConf, { recursive: true });
    Deno.mkdirSync(this.paths.ipamData, { recursive: true });
    Deno.writeTextFileSync(`${this.paths.cniConf}/10-denki-pods.conflist`, cniConflist(this.paths));
    await this.ctrd.start("runc", env);
    await this.ctrd.importImages();
    this.#client = await CriClient.connect(this.ctrd.socket);
  }

  /** A pod sandbox config as the kubelet would send it (a unique uid per pod). */
  podConfig(name: string, opts: PodOptions = {}): PodInit {
    Deno.mkdirSync(this.logDir(name), { recursive: true });
    return {
      metadata: { name, uid: `uid-${Deno.pid}-${pods++}`, namespace: "default", attempt: 0 },
      hostname: opts.hostNetwork ? "" : (opts.hostname ?? name),
      logDirectory: this.logDir(name),
      labels: { "denki-test": name },
      annotations: {},
      linux: {
        cgroupParent: this.cgroupParent(name),
        securityContext: {
          namespaceOptions: {
            network: opts.hostNetwork ? NamespaceMode.NODE : NamespaceMode.POD,
            pid: opts.sharePid ? NamespaceMode.POD : NamespaceMode.CONTAINER,
            ipc: NamespaceMode.POD,
          },
        },
      },
    };
  }

  /** A busybox container config running `args` (with the given memory and CPU resources). */
  containerConfig(
    name: string,
    args: string[],
    more: ContainerInit = {},
  ): ContainerInit {
    return {
      metadata: { name, attempt: 0 },
      image: { image: BUSYBOX_IMAGE },
      command: args,
      logPath: `${name}.log`,
      envs: [{ key: "POD_CONTAINER", value: name }],
      ...more,
    };
  }

  /** Runs a pod and creates and starts each container in it; returns their ids. */
  async runPod(
    handler: Handler,
    pod: PodInit,
    containers: ContainerInit[],
  ): Promise<{ podId: string; ids: string[] }> {
    const podId = await this.cri.runPodSandbox({ config: pod, runtimeHandler: handler });
    const ids: string[] = [];
    for (const config of containers) ids.push(await this.startContainer(podId, pod, config));
    return { podId, ids };
  }

  /** Creates and starts a container in a running pod; returns its id. */
  async startContainer(podId: string, pod: PodInit, config: ContainerInit): Promise<string> {
    const id = await this.cri.createContainer({
      podSandboxId: podId,
      config,
      sandboxConfig: pod,
    });
    await this.cri.startContainer(id);
    return id;
  }

  /** A container's status. */
  async containerStatus(id: string): Promise<ContainerStatus> {
    const s = (await this.cri.containerStatus({ containerId: id })).status;
    if (s === undefined) throw new Error(`CRI ContainerStatus ${id}: no status in the reply`);
    return s;
  }

  /**
   * Stops and removes a pod and its containers, as the kubelet does when a pod goes, and, as
   * the kubelet does, its pod cgroup `parent` (when given): only while it is empty (rmdir), so
   * a container cgroup a runtime left under it keeps it, and it is counted at stop.
   */
  async removePod(podId: string, parent?: string): Promise<void> {
    await this.cri.stopPodSandbox(podId);
    await this.cri.removePodSandbox(podId);
    if (parent !== undefined) rmdirCgroup(parent);
  }

  /** Mounts under the temp dir in containerd's own mount namespace. */
  mountsInContainerd(): string[] {
    const pid = this.ctrd.pid;
    if (pid === undefined) return [];
    return mountsUnder(Deno.readTextFileSync(`/proc/${pid}/mountinfo`), this.ctrd.dir);
  }

  /** Shim processes of this node: those naming its socket, and a spare that took a pod. */
  shimPids(): number[] {
    const dir = `${this.ctrd.dir}/`;
    return pidsWhere((args, pid) => {
      if (args.includes(this.ctrd.socket)) return true;
      try {
        return isSpare(args) && Deno.readLinkSync(`/proc/${pid}/cwd`).startsWith(dir);
      } catch {
        return false;
      }
    });
  }

  /** Pod network namespaces still bound under (containerd's) /run/netns. */
  netnsLeft(): string[] {
    const dir = `${this.ctrd.dir}/run/netns`;
    return exists(dir) ? [...Deno.readDirSync(dir)].map((e) => e.name) : [];
  }

  /** Pod IP addresses host-local still has allocated. */
  ipsLeft(): string[] {
    const dir = `${this.paths.ipamData}/denki-pods`;
    if (!exists(dir)) return [];
    return [...Deno.readDirSync(dir)].map((e) => e.name)
      .filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n));
  }

  /** Removes what the test left (pods through the CRI first) and stops containerd. */
  async stop(): Promise<string[]> {
    const left: string[] = [];
    if (this.#client !== undefined) {
      try {
        for (const pod of await this.cri.listPodSandbox()) {
          const name = pod.metadata?.name ?? pod.id;
          left.push(`pod ${name}`);
          await this.removePod(pod.id, this.cgroupParent(name))
            .catch((err) => left.push(`pod removal: ${err}`));
        }
      } catch (err) {
        left.push(`CRI unreachable at cleanup: ${err}`);
      }
      this.#client.close();
      this.#client = undefined;
    }
    // The node-level parent (a kubelet's kubepods), when its pods are gone.
    rmdirCgroup(`/${this.ctrd.name}`);
    left.push(...this.netnsLeft().map((n) => `netns ${n}`));
    left.push(...this.ipsLeft().map((ip) => `pod ip ${ip}`));
    left.push(...(await this.ctrd.stop()));
    return left;
  }
}

/** Runs `fn` on a started CRI node and always stops it; leftovers fail a passing test. */
export async function withCriNode(
  fn: (node: CriNode) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  await withHarness("CRI", async () => {
    const node = new CriNode();
    try {
      await node.start(env);
    } catch (err) {
      await node.stop().catch((cleanup) => console.error(`CRI harness: ${cleanup}`));
      throw err;
    }
    return node;
  }, fn);
}
