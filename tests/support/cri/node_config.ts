/**
 * The containerd CRI config a Kubernetes node with denki would have, as the CRI tests run it:
 * three runtime handlers (RuntimeClass names) and a CNI bridge network.
 * - `runc`: containerd's runc shim running runc (the comparison);
 * - `denki-runc`: containerd's runc shim running denki, through the runtime option
 *   `BinaryName` (read by the CRI plugin only; ctr never sends it);
 * - `denki`: denki's own shim, `io.containerd.denki.v2` (containerd-shim-denki-v2 on PATH).
 * The denki handlers pass the Wasm annotations of a pod or its container to the OCI config,
 * which is how a Wasm container in a pod reaches denki's Wasm executor. README.md's
 * Kubernetes section shows this config with a node's real paths; keep the two alike.
 */
import { WASM_ANNOTATIONS } from "../../../executors/wasm/annotations.ts";
import { PAUSE_IMAGE } from "../test_images.ts";

/** A runtime handler of the CRI tests (a RuntimeClass's `handler`). */
export type Handler = "runc" | "denki-runc" | "denki";

/** Every handler, the comparison first. */
export const HANDLERS: readonly Handler[] = ["runc", "denki-runc", "denki"];

/** Where the pod network's bridge hands out addresses from. */
export const POD_SUBNET = "10.88.0.0/16";

/** Paths the config names. */
export interface NodePaths {
  /** The denki binary the runc shim runs for `denki-runc`. */
  denki: string;
  /** The CNI config directory. */
  cniConf: string;
  /** host-local IPAM's allocation records. */
  ipamData: string;
  snapshotter: string;
}

const q = JSON.stringify;

/** The `[plugins."io.containerd.grpc.v1.cri"]` section of config.toml (version 2). */
export function criToml(p: NodePaths): string {
  const cri = '[plugins."io.containerd.grpc.v1.cri"';
  const runtimes = `${cri}.containerd.runtimes`;
  const wasm = `[${Object.keys(WASM_ANNOTATIONS).map((a) => q(a)).join(", ")}]`;
  return [
    `${cri}]`,
    `  sandbox_image = ${q(PAUSE_IMAGE)}`,
    // No AppArmor or SELinux here; the stream server (exec/attach over HTTP) stays on
    // loopback of containerd's own network namespace.
    "  disable_apparmor = true",
    // Root here lacks CAP_SYS_RESOURCE, so a sandbox's oom_score_adj of -998 cannot be set;
    // restricted, CRI keeps scores at or above containerd's own.
    "  restrict_oom_score_adj = true",
    "  enable_selinux = false",
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    `${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = ${q(p.cniConf)}`,
    `${cri}.containerd]`,
    `  snapshotter = ${q(p.snapshotter)}`,
    '  default_runtime_name = "runc"',
    `${runtimes}.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `${runtimes}.denki-runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `  pod_annotations = ${wasm}`,
    `  container_annotations = ${wasm}`,
    `${runtimes}.denki-runc.options]`,
    `  BinaryName = ${q(p.denki)}`,
    `${runtimes}.denki]`,
    '  runtime_type = "io.containerd.denki.v2"',
    `  pod_annotations = ${wasm}`,
    `  container_annotations = ${wasm}`,
  ].join("\n");
}

/**
 * The pod network: a bridge with a gateway address and host-local addresses, no masquerading
 * (no iptables rules) and nothing outside the node's network namespace.
 */
export function cniConflist(p: NodePaths): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "denki-pods",
      plugins: [{
        type: "bridge",
        bridge: "denki0",
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: POD_SUBNET }]],
          dataDir: p.ipamData,
        },
      }],
    },
    null,
    2,
  );
}
