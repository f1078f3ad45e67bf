/**
 * The per-container record kept in `<root>/<id>/state.json`, its strict parser (a corrupt file
 * is an error naming the file, never a stack trace), and the OCI state JSON shown by `state`.
 */
import { DenkiError, quote } from "../errors.ts";
import type { CgroupRecord } from "../cgroups/manager.ts";
import type { HostMount, PendingMount } from "../linux/host_mounts.ts";
import type { Hook } from "../spec/config.ts";
import type { ContainerStatus } from "./status.ts";

/** Everything denki remembers about a container between commands. */
export interface ContainerRecord {
  /** The ociVersion of the container's config.json. */
  ociVersion: string;
  id: string;
  /** Pid of the container's init in the host pid namespace (0 before it exists). */
  pid: number;
  /** The init's start time from /proc/<pid>/stat, so a reused pid is not mistaken for it. */
  pidStartTime: number;
  /** Status as last recorded; `liveStatus` corrects it for processes that died. */
  status: ContainerStatus;
  /** Absolute bundle directory. */
  bundle: string;
  /** Absolute root filesystem path. */
  rootfs: string;
  /** Creation time, RFC 3339 with nanoseconds in UTC. */
  created: string;
  /** User name of the container's creator. */
  owner: string;
  annotations: Record<string, string>;
  /** Hooks that run after `create` returns (poststart in `start`, poststop in `delete`). */
  hooks?: { poststart: Hook[]; poststop: Hook[] };
  /** The container's cgroup (none for rootless Wasm sandboxes). */
  cgroup?: CgroupRecord;
  /** Without a mount namespace of its own: the mounts denki made in the host's table. */
  mounts?: HostMount[];
}

/** The state JSON that `denki state` prints, in runc's field order. */
export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

const STATUSES: readonly ContainerStatus[] = [
  "creating",
  "created",
  "running",
  "paused",
  "stopped",
];

/** Builds the OCI state for a record and its live status; a stopped container reports pid 0. */
export function toOciState(rec: ContainerRecord, status: ContainerStatus): OciState {
  // Built field by field to keep runc's key order; annotations are left out when empty.
  const state: OciState = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: status === "stopped" ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
  } as OciState;
  if (Object.keys(rec.annotations).length > 0) state.annotations = rec.annotations;
  state.owner = rec.owner;
  return state;
}

/**
 * What `create` records in `creating.json` before it makes anything (and again once its init
 * exists): enough for `delete`, or a later `create` of the id, to undo a create that died.
 */
export interface CreatingRecord {
  id: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  /** The create process: while it lives (same start time), the container is being created. */
  creatorPid: number;
  creatorStartTime: number;
  /** The container's init once spawned, else 0. */
  pid: number;
  pidStartTime: number;
  /** Where the container's cgroup goes, written before any of it is made. */
  cgroup?: CgroupRecord;
  /** Mounts made in the host's table so far (a container without a mount namespace). */
  mounts?: HostMount[];
  /** The step of mounts under way when this was written (its points), if any. */
  pendingMounts?: PendingMount[];
}

type Fields = {
  o: Record<string, unknown>;
  str(k: string): string;
  int(k: string): number;
  corrupt(why: string): DenkiError;
};

/** A JSON object's fields, read strictly; problems are DenkiErrors naming the file. */
function fields(file: string, text: string): Fields {
  const corrupt = (why: string) => new DenkiError(`corrupt state file ${file}: ${why}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw corrupt(text.trim() === "" ? "it is empty" : `not JSON (${(err as Error).message})`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw corrupt("not a JSON object");
  }
  const o = data as Record<string, unknown>;
  return {
    o,
    corrupt,
    str(k) {
      if (typeof o[k] !== "string") throw corrupt(`"${k}" is missing or not a string`);
      return o[k] as string;
    },
    int(k) {
      const v = o[k];
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
        throw corrupt(`"${k}" is missing or not a non-negative integer`);
      }
      return v;
    },
  };
}

function cgroupField(f: Fields): CgroupRecord | undefined {
  const cg = f.o.cgroup as Record<string, unknown> | undefined;
  if (
    cg !== undefined &&
    (typeof cg !== "object" || cg === null || typeof cg.path !== "string" ||
      typeof cg.v1 !== "object" || cg.v1 === null || !Array.isArray(cg.created))
  ) {
    throw f.corrupt(`"cgroup" is not a cgroup record`);
  }
  return cg as CgroupRecord | undefined;
}

const POINT = (v: unknown) => typeof v === "string" && v.startsWith("/") && !v.includes("\0");
const ID = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function mountsField(f: Fields): HostMount[] | undefined {
  const list = f.o.mounts;
  if (list === undefined) return undefined;
  const ok = Array.isArray(list) &&
    list.every((m) =>
      typeof m === "object" && m !== null && POINT(m.point) && ID(m.id) && ID(m.parent) &&
      (m.unique === undefined || (typeof m.unique === "string" && /^\d+$/.test(m.unique)))
    );
  if (!ok) throw f.corrupt(`"mounts" is not a list of mount records`);
  return list as HostMount[];
}

function pendingField(f: Fields): PendingMount[] | undefined {
  const list = f.o.pendingMounts;
  if (list === undefined) return undefined;
  const ok = Array.isArray(list) &&
    list.every((p) => typeof p === "object" && p !== null && POINT(p.point) && ID(p.over));
  if (!ok) throw f.corrupt(`"pendingMounts" is not a list of pending mount records`);
  return list as PendingMount[];
}

/** Parses state.json text; any problem is a DenkiError naming the file and the field. */
export function parseRecord(file: string, text: string): ContainerRecord {
  const f = fields(file, text);
  const { o, str, int, corrupt } = f;
  const status = str("status") as ContainerStatus;
  if (!STATUSES.includes(status)) throw corrupt(`unknown status ${quote(status)}`);
  const ann = o.annotations ?? {};
  if (
    typeof ann !== "object" || ann === null || Array.isArray(ann) ||
    Object.values(ann).some((v) => typeof v !== "string")
  ) {
    throw corrupt(`"annotations" is not an object of strings`);
  }
  cgroupField(f);
  mountsField(f);
  return {
    ...o,
    ociVersion: str("ociVersion"),
    id: str("id"),
    pid: int("pid"),
    pidStartTime: int("pidStartTime"),
    status,
    bundle: str("bundle"),
    rootfs: str("rootfs"),
    created: str("created"),
    owner: str("owner"),
    annotations: ann as Record<string, string>,
  };
}

/** Parses creating.json text, as strictly as state.json. */
export function parseCreating(file: string, text: string): CreatingRecord {
  const f = fields(file, text);
  const cgroup = cgroupField(f);
  const mounts = mountsField(f);
  const pendingMounts = pendingField(f);
  return {
    id: f.str("id"),
    bundle: f.str("bundle"),
    rootfs: f.str("rootfs"),
    created: f.str("created"),
    owner: f.str("owner"),
    creatorPid: f.int("creatorPid"),
    creatorStartTime: f.int("creatorStartTime"),
    pid: f.int("pid"),
    pidStartTime: f.int("pidStartTime"),
    ...(cgroup === undefined ? {} : { cgroup }),
    ...(mounts === undefined ? {} : { mounts }),
    ...(pendingMounts === undefined ? {} : { pendingMounts }),
  };
}
