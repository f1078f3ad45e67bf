/** How the shim is called: the names main.ts and the shim's own start share. */

/** The binary containerd runs for the runtime `io.containerd.denki.v2`. */
export const SHIM_NAME = "containerd-shim-denki-v2";

/** The flag that makes denki the shim when it is not run by that name (the launcher's way). */
export const SHIM_FLAG = "--containerd-shim-v2";

/** denki's state root under containerd, per namespace (runc's is /run/containerd/runc/<ns>). */
export const STATE_ROOT = "/run/containerd/denki";

/** Where shim sockets live (containerd 1.6's shim library puts them there too). */
export const SOCKET_DIR = "/run/containerd/s";

/** The spare daemon's hand-over socket, and its pid (for whoever must stop it). */
export const SPARE_SOCKET = `${SOCKET_DIR}/denki-spare`;
export const SPARE_PID = `${SOCKET_DIR}/denki-spare.pid`;

/** The daemon's answer to containerd's `delete` after a clean Delete, left in the bundle. */
export const DELETED_MARK = ".denki-deleted";

/** Annotation that makes a Wasm container take the init route even where the shim could run it. */
export const ROUTE_ANNOTATION = "run.denki.shim.route";
