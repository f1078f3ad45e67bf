/**
 * The container's root filesystem under containerd: Create brings the snapshot as mounts
 * (a bind of the native snapshotter's directory, or an overlay), which the shim mounts on
 * `<bundle>/rootfs` before creating the container, and takes down at Delete.
 */
import { DenkiError } from "../errors.ts";
import { MS, parseMountOptions } from "../plan/mount_options.ts";
import * as sc from "../sys/syscalls.ts";

/** One mount as containerd describes it (containerd.types.Mount). */
export interface RootfsMount {
  type: string;
  source: string;
  options: readonly string[];
}

const MNT_DETACH = 2;
const EINVAL = 22;

/** Mounts `mounts` in order on `target`; on failure, what was mounted is taken down again. */
export function mountRootfs(mounts: readonly RootfsMount[], target: string): void {
  if (mounts.length === 0) return;
  Deno.mkdirSync(target, { recursive: true, mode: 0o711 });
  let done = 0;
  try {
    for (const m of mounts) {
      mountOne(m, target);
      done++;
    }
  } catch (err) {
    // Exactly the mounts made here, not what was on the target before.
    for (let i = 0; i < done; i++) {
      try {
        sc.umount2(target, 0);
      } catch {
        sc.umount2(target, MNT_DETACH);
      }
    }
    throw err;
  }
}

function mountOne(m: RootfsMount, target: string): void {
  const o = parseMountOptions(m.options);
  // Propagation options make no sense for a root filesystem the shim owns; ignore them.
  const flags = o.flags;
  const data = o.data.length > 0 ? o.data.join(",") : null;
  try {
    if (o.bind || m.type === "bind") {
      sc.mount(m.source, target, null, MS.BIND | (o.recursive ? MS.REC : 0), null);
      // Read-only and the like apply only through a remount of the bind.
      if (flags !== 0) sc.mount(null, target, null, MS.BIND | MS.REMOUNT | flags, null);
      return;
    }
    if (data !== null && data.length >= 4096) {
      throw new DenkiError(`mount options of ${m.type} too long (${data.length} bytes)`);
    }
    sc.mount(m.source, target, m.type, flags, data);
  } catch (err) {
    throw new DenkiError(
      `cannot mount the rootfs (${m.type} from ${m.source}) on ${target}: ${
        (err as Error).message
      }`,
    );
  }
}

/** Unmounts everything stacked on `target` (no error when nothing is mounted there). */
export function unmountRootfs(target: string): void {
  for (let i = 0; i < 32; i++) {
    try {
      sc.umount2(target, 0);
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      if (errno === EINVAL || errno === 2) return; // not a mount point (any more), or gone
      try {
        sc.umount2(target, MNT_DETACH);
      } catch {
        return;
      }
    }
  }
}
