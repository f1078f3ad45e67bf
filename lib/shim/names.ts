/** How the shim is called: the names main.ts and the shim's own start share. */

/** The binary containerd runs for the runtime `io.containerd.denki.v2`. */
export const SHIM_NAME = "containerd-shim-denki-v2";

/** The flag that makes denki the shim when it is not run by that name (the launcher's way). */
export const SHIM_FLAG = "--containerd-shim-v2";

/** denki's state root under containerd, per namespace (runc's is /run/containerd/runc/<ns>). */
export const STATE_ROOT = "/run/containerd/denki";
