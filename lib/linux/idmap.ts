/**
 * Idmapped mounts (runtime-spec 1.1: mounts[].uidMappings and gidMappings, options idmap and
 * ridmap). The kernel lets only a process with CAP_SYS_ADMIN over a file system's own user
 * namespace (the host's, for every host file system) idmap a mount of it, and only while the
 * mount is detached. A container init in a user namespace has neither, so `create`, as the
 * host's root, makes a detached copy of each source (open_tree OPEN_TREE_CLONE), idmaps it
 * (mount_setattr MOUNT_ATTR_IDMAP with a user namespace carrying the mount's maps), and the
 * native init inherits the fd and moves the copy onto the destination (native/mounts.ts).
 * runc does the same from its parent process.
 *
 * The maps are read as the kernel reads a user namespace's: an id `containerID + k` on the
 * file system shows through the mount as `hostID + k`, a host id, which a container with a
 * user namespace then sees through its own map (runc and crun read them so too). Without
 * maps of its own an idmapped mount takes the container's user namespace's.
 *
 * On `create`'s path: no npm: or node: imports.
 */
import { DenkiError } from "../errors.ts";
import { AT_EMPTY_PATH, AT_FDCWD, O_CLOEXEC, O_PATH, O_RDONLY, SIGKILL } from "../plan/abi.ts";
import { describeErrno, Errno } from "../plan/errno.ts";
import { parseMountOptions } from "../plan/mount_options.ts";
import { NAMESPACES } from "../plan/namespaces.ts";
import { Script } from "../spawn/script.ts";
import { launchStage } from "../spawn/stage.ts";
import type { IdMapping, Spec } from "../spec/config.ts";
import type { StageUsernsMessage } from "../sync/messages.ts";
import { runtimeEnd } from "../sync.ts";
import { mountSetattr, openTree } from "../sys/mount_api.ts";
import { readTextRaw } from "../sys/rawfs.ts";
import { mountIdOf } from "../sys/stat.ts";
import * as sc from "../sys/syscalls.ts";
import { stageFailure } from "./launch.ts";
import type { PlannedMount } from "./native/plan.ts";
import { mapShapeProblems, writeIdMaps } from "./userns.ts";

const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = O_CLOEXEC;
const AT_RECURSIVE = 0x8000;
const MOUNT_ATTR_IDMAP = 0x100000;

/** What `idmapProblems` needs to know besides the config. */
export interface IdmapContext {
  /** denki runs as root (only the host's root may idmap a host file system). */
  root: boolean;
  /** Why the container's init must be Deno (which cannot idmap), undefined when it is native. */
  denoInit: () => string | undefined;
}

/**
 * Every reason this container's idmapped mounts cannot be made, one line each (empty when
 * they can, or when there are none): checked before anything of the container exists.
 */
export function idmapProblems(spec: Spec, ctx: IdmapContext): string[] {
  const mounts = spec.mounts ?? [];
  const idmapped = mounts.flatMap((m, i) => {
    const opts = parseMountOptions(m.options ?? []);
    const wanted = opts.idmap !== undefined || m.uidMappings !== undefined ||
      m.gidMappings !== undefined;
    return wanted ? [{ m, i, bind: opts.bind || m.type === "bind" }] : [];
  });
  if (idmapped.length === 0) return [];
  const out: string[] = [];
  const first = `mounts[${idmapped[0]!.i}]`;
  if (sc.mountSetattrErrno(-1) === Errno.ENOSYS) {
    out.push(`${first}: idmapped mounts need mount_setattr, which this kernel lacks (Linux 5.12)`);
    return out;
  }
  if (!ctx.root) {
    out.push(
      `${first}: idmapped mounts need root (only the host's root may idmap a host file system)`,
    );
  } else {
    const why = ctx.denoInit();
    if (why !== undefined) {
      out.push(
        `${first}: idmapped mounts need denki's native init, which this container ` +
          `cannot have (${why})`,
      );
    }
  }
  const userns = (spec.linux?.namespaces ?? []).some((n) => n.type === "user");
  for (const { m, i, bind } of idmapped) {
    const at = `mounts[${i}]`;
    if (!bind) {
      out.push(`${at}: only bind mounts can be idmapped, not type ${JSON.stringify(m.type ?? "")}`);
    }
    if (m.uidMappings !== undefined || m.gidMappings !== undefined) {
      out.push(...mapShapeProblems(m.uidMappings ?? [], `${at}.uidMappings`));
      out.push(...mapShapeProblems(m.gidMappings ?? [], `${at}.gidMappings`));
    } else if (!userns) {
      out.push(`${at}: idmap without uidMappings and gidMappings needs a user namespace`);
    }
  }
  return out;
}

/** The detached, idmapped copies made for a container's init: fds it inherits. */
export interface IdmappedTrees {
  /** Makes the fds inheritable (for the init's launch only) or close-on-exec again. */
  inheritable(on: boolean): void;
  /** Closes this process's copies (the init holds its own once launched). */
  close(): void;
}

/**
 * Makes a detached, idmapped copy of the source of every idmapped mount in `mounts` and sets
 * its `idmapTree` to the fd (close-on-exec until `inheritable`). Check `idmapProblems` first.
 * On failure nothing is left: the copies made so far go with their last fd.
 */
export async function makeIdmappedTrees(
  mounts: PlannedMount[],
  spec: Spec,
): Promise<IdmappedTrees> {
  const trees: number[] = [];
  // One user namespace per distinct mapping; only its fd is kept, its helper is gone.
  const userns = new Map<string, number>();
  try {
    for (const m of mounts) {
      if (m.idmap === undefined) continue;
      const key = nsKey(m, spec);
      let ns = userns.get(key.id);
      if (ns === undefined) {
        ns = key.path !== undefined
          ? openUserns(key.path)
          : await mappedUserns(key.uid, key.gid, m.source);
        userns.set(key.id, ns);
      }
      const tree = idmappedCopy(m, ns);
      trees.push(tree);
      m.idmapTree = tree;
    }
  } catch (err) {
    for (const fd of trees) sc.close(fd);
    for (const m of mounts) delete m.idmapTree;
    throw err;
  } finally {
    for (const fd of userns.values()) sc.close(fd);
  }
  return {
    inheritable(on: boolean) {
      for (const fd of trees) sc.setCloexec(fd, !on);
    },
    close() {
      for (const fd of trees.splice(0)) sc.close(fd);
    },
  };
}

/** Which user namespace idmaps `m`: its own maps, the container's, or a joined one's path. */
function nsKey(
  m: PlannedMount,
  spec: Spec,
): { id: string; uid: IdMapping[]; gid: IdMapping[]; path?: string } {
  const own = m.idmap!;
  if (own.uidMappings !== undefined || own.gidMappings !== undefined) {
    const uid = own.uidMappings ?? [];
    const gid = own.gidMappings ?? [];
    return { id: JSON.stringify([uid, gid]), uid, gid };
  }
  const user = (spec.linux?.namespaces ?? []).find((n) => n.type === "user");
  if (user?.path) return { id: `path:${user.path}`, uid: [], gid: [], path: user.path };
  const uid = spec.linux?.uidMappings ?? [];
  const gid = spec.linux?.gidMappings ?? [];
  return { id: JSON.stringify([uid, gid]), uid, gid };
}

function openUserns(path: string): number {
  const r = sc.tryOpenat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (r.fd < 0) {
    throw new DenkiError(
      `cannot open the user namespace ${path} for an idmapped mount: ${describeErrno(r.errno)}`,
    );
  }
  return r.fd;
}

/**
 * A user namespace with the given maps, as an fd. Deno cannot unshare a user namespace (it is
 * multi-threaded), so the native stage does, with a three-step script: unshare, report, wait.
 * This process writes the maps, opens the namespace, and ends the stage; the fd keeps the
 * namespace alive with nobody in it.
 */
async function mappedUserns(uid: IdMapping[], gid: IdMapping[], source: string): Promise<number> {
  const [mine, its] = sc.socketpair();
  sc.setCloexec(mine, true);
  const channel = runtimeEnd(mine, "denki's user namespace helper");
  const who = `cannot make a user namespace to idmap ${JSON.stringify(source)}`;
  const s = new Script(Deno.build.arch);
  s.call("unshare", [NAMESPACES.user.flag], who);
  const pid = s.slot();
  s.call("getpid", [], "getpid", { into: pid });
  s.report(its, "stage-userns" satisfies StageUsernsMessage["type"], pid, "report");
  // Waits until this process closes its end (or kills it).
  s.call("read", [its, s.zeros(8), 1], "wait", { exitOnEof: 0 });
  s.exit(0);
  let stage: number;
  try {
    stage = launchStage(s.build({ fd: its, failCode: 1, text: false }));
  } catch (err) {
    channel.close();
    throw err;
  } finally {
    sc.close(its);
  }
  try {
    const msg = channel.receive();
    if (msg?.type === "stage-fail") throw stageFailure(s, msg);
    if (msg?.type !== "stage-userns") throw new DenkiError(`${who}: the helper ended early`);
    await writeIdMaps(stage, uid, gid, { uid: 0, gid: 0 });
    const r = sc.tryOpenat(AT_FDCWD, `/proc/${stage}/ns/user`, O_RDONLY | O_CLOEXEC);
    if (r.fd < 0) throw new DenkiError(`${who}: ${describeErrno(r.errno)}`);
    return r.fd;
  } finally {
    sc.kill(stage, SIGKILL);
    await sc.waitChild(stage);
    channel.close();
  }
}

/** open_tree(OPEN_TREE_CLONE) of the source, idmapped with the user namespace `ns`. */
function idmappedCopy(m: PlannedMount, ns: number): number {
  const what = `cannot idmap the mount of ${JSON.stringify(m.source)}`;
  const flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m.recursive ? AT_RECURSIVE : 0);
  const t = openTree(AT_FDCWD, m.source, flags);
  if (t.fd < 0) throw new DenkiError(`${what}: open_tree: ${describeErrno(t.errno)}`);
  const tree = t.fd;
  const how = AT_EMPTY_PATH | (m.idmap!.recursive ? AT_RECURSIVE : 0);
  const errno = mountSetattr(tree, how, {
    set: MOUNT_ATTR_IDMAP,
    clear: 0,
    propagation: 0,
    userns: ns,
  });
  if (errno === 0) return tree;
  sc.close(tree);
  if (errno === Errno.EINVAL) {
    throw new DenkiError(
      `${what}: its file system (${fsTypeOf(m.source)}) does not support idmapped mounts`,
    );
  }
  if (errno === Errno.ENOSYS) {
    throw new DenkiError(`${what}: this kernel lacks mount_setattr (Linux 5.12)`);
  }
  throw new DenkiError(`${what}: mount_setattr: ${describeErrno(errno)}`);
}

/** The type of the file system `path` is on, from the mount table ("unknown" if not found). */
export function fsTypeOf(path: string, mountinfo?: string): string {
  const r = sc.tryOpenat(AT_FDCWD, path, O_PATH | O_CLOEXEC);
  if (r.fd < 0) return "unknown";
  try {
    const id = mountIdOf(r.fd, false);
    const text = mountinfo ?? readTextRaw("/proc/self/mountinfo") ?? "";
    for (const line of text.split("\n")) {
      if (id === undefined || line.split(" ", 1)[0] !== String(id)) continue;
      // The fields after " - " are the type, the source and the super options.
      const type = line.split(" - ")[1]?.split(" ")[0];
      if (type) return type;
    }
    return "unknown";
  } catch {
    return "unknown";
  } finally {
    sc.close(r.fd);
  }
}
