/**
 * The sync protocol between the runtime (`create`, `exec`) and a container's init (the Deno
 * init, or the native stage and its scripts): every message, as one discriminated union per
 * direction, and the check that turns a received JSON value into one of them.
 *
 * The wire format is one JSON object per line. The native stage writes some of these lines
 * itself (lib/spawn/stage.c: `stage-fail` and value reports such as `stage-pid`; its scripts:
 * `hello`, `hooks`, `seccompFd`, `ready`), so the field names and order here are fixed by
 * that C code and must not change. The runtime answers the native stage with a single
 * newline byte (lib/linux/launch.ts `sendGo`), which is not a message of this module.
 *
 * No Deno API and no I/O, so the script builders, the channel and both ends can import it.
 */
import { DenkiError } from "../errors.ts";
import type { HostMount, PendingMount } from "../linux/host_mounts.ts";

// ---- What an init (the Deno init or the native stage) sends to the runtime ----

/** The init is up: `create` puts it in the cgroup, then answers (bootstrap or go-ahead). */
export interface HelloMessage {
  type: "hello";
}

/** The container is built; `create` records it and answers `recorded` (or the go byte). */
export interface ReadyMessage {
  type: "ready";
  /** Debug notes for `create`'s log (the Deno init only). */
  notes?: string[];
  /** The init's phase timings, one line (the Deno init only). */
  phases?: string;
}

/** The init asks `create` to run the prestart and createRuntime hooks. */
export interface HooksMessage {
  type: "hooks";
}

/** Carries a seccomp notify listener fd (SCM_RIGHTS) for `create`/`exec` to pass on. */
export interface SeccompFdMessage {
  type: "seccompFd";
}

/** A container without a mount namespace: mounts made and about to be made (Deno init). */
export interface MountMessage {
  type: "mount";
  /** Mounts the steps so far left: each step's mount on its point, then the mounts below. */
  made: HostMount[];
  /** The steps about to run (replacing the pending ones recorded before). */
  pending: PendingMount[];
}

/** The Deno init failed before it was ready; `message` is its one-line error. */
export interface ErrorMessage {
  type: "error";
  message: string;
}

/** A native stage script failed at step `step` with `errno` (0: an unexpected result). */
export interface StageFailMessage {
  type: "stage-fail";
  step: number;
  errno: number;
  /** Only from denki's TypeScript interpreter of scripts: the error it caught. */
  message?: string;
}

/** A value report of the launch stage: the pid of the child it forked. */
export interface StagePidMessage {
  type: "stage-pid";
  value: number;
}

/**
 * The launch stage made a new user namespace and waits (for one byte) until the runtime has
 * written its id maps; `value` is the stage's pid.
 */
export interface StageUsernsMessage {
  type: "stage-userns";
  value: number;
}

/** Any message an init sends to the runtime. */
export type InitMessage =
  | HelloMessage
  | ReadyMessage
  | HooksMessage
  | SeccompFdMessage
  | MountMessage
  | ErrorMessage
  | StageFailMessage
  | StagePidMessage
  | StageUsernsMessage;

// ---- What the runtime sends to the Deno init ----

/** What `create` sends the Deno init after its hello: everything it needs to build. */
export interface BootstrapMessage {
  type: "bootstrap";
  /** The config.json text, already validated by `create`. */
  config: string;
  configFile: string;
  bundle: string;
  rootfs: string;
  id: string;
  stateDir: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** The executor create chose. */
  executor: string;
  /** Rootless Wasm: no namespaces, no root switch, no credentials to change. */
  sandbox: boolean;
  /** process.terminal: the inherited fd of a connected socket that receives the pty master. */
  consoleSocket?: number;
  /**
   * The exec fifo comes attached (SCM_RIGHTS) as an O_PATH fd: an init in a user namespace
   * cannot reach the state directory.
   */
  fifoAttached?: boolean;
}

/** The request (mount record, hooks) was carried out: go on. */
export interface OkMessage {
  type: "ok";
}

/** The hooks failed: the init exits. */
export interface AbortMessage {
  type: "abort";
}

/** `create` wrote the container's state after "ready": the init may wait for `start`. */
export interface RecordedMessage {
  type: "recorded";
}

/** Any message the runtime sends to the Deno init. */
export type RuntimeMessage = BootstrapMessage | OkMessage | AbortMessage | RecordedMessage;

/** A message in either direction. */
export type SyncMessage = InitMessage | RuntimeMessage;

/** The line on the wire for `msg` (newline included): what both ends and the scripts write. */
export function encodeMessage(msg: SyncMessage): string {
  return JSON.stringify(msg) + "\n";
}

// ---- Checking received values ----

/**
 * A check of one field's value. `optional` says whether the field may be absent; `type` is
 * never set: it only makes `Check<T>` invariant in T, so the table below must match the
 * message types exactly (a field's check, and its optionality).
 */
interface Check<T, O extends boolean = boolean> {
  readonly what: string;
  readonly test: (v: unknown) => boolean;
  readonly optional: O;
  readonly type?: (t: T) => T;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const str: Check<string, false> = {
  what: "a string",
  test: (v) => typeof v === "string",
  optional: false,
};
const int: Check<number, false> = {
  what: "an integer",
  test: (v) => Number.isSafeInteger(v),
  optional: false,
};
const bool: Check<boolean, false> = {
  what: "true or false",
  test: (v) => typeof v === "boolean",
  optional: false,
};

function opt<T>(c: Check<T, false>): Check<T, true> {
  return { ...c, optional: true };
}

function listOf<T>(item: Check<T, false>, what: string): Check<T[], false> {
  return { what, test: (v) => Array.isArray(v) && v.every(item.test), optional: false };
}

/** A plain object with exactly the fields of `shape`. */
function record<T extends object>(shape: Shape<T>, what: string): Check<T, false> {
  return { what, test: (v) => problemOf(shape, v) === undefined, optional: false };
}

type OptionalKeys<M> = { [K in keyof M]-?: object extends Pick<M, K> ? K : never }[keyof M];

/**
 * For each field of M but `type`, a check of exactly its type and optionality (a message
 * with no other fields gets an empty record: a `{}` type would take any fields).
 */
type Shape<M> = [Exclude<keyof M, "type">] extends [never] ? Record<string, never>
  : {
    [K in Exclude<keyof M, "type">]-?: K extends OptionalKeys<M>
      ? Check<Exclude<M[K], undefined>, true>
      : Check<M[K], false>;
  };

/** Every type of the union U, with the shape of its message. */
type Shapes<U extends { type: string }> = {
  [T in U["type"]]: Shape<Extract<U, { type: T }>>;
};

const hostMount = record<HostMount>(
  { point: str, id: int, parent: int, unique: opt(str) },
  "a mount",
);
const pendingMount = record<PendingMount>({ point: str, over: int }, "a pending mount");

const INIT_SHAPES: Shapes<InitMessage> = {
  hello: {},
  ready: { notes: opt(listOf(str, "a list of strings")), phases: opt(str) },
  hooks: {},
  seccompFd: {},
  mount: {
    made: listOf(hostMount, "a list of mounts"),
    pending: listOf(pendingMount, "a list of pending mounts"),
  },
  error: { message: str },
  "stage-fail": { step: int, errno: int, message: opt(str) },
  "stage-pid": { value: int },
  "stage-userns": { value: int },
};

const RUNTIME_SHAPES: Shapes<RuntimeMessage> = {
  bootstrap: {
    config: str,
    configFile: str,
    bundle: str,
    rootfs: str,
    id: str,
    stateDir: str,
    noPivot: bool,
    noNewKeyring: bool,
    preserveFds: int,
    executor: str,
    sandbox: bool,
    consoleSocket: opt(int),
    fifoAttached: opt(bool),
  },
  ok: {},
  abort: {},
  recorded: {},
};

/** What is wrong with `v` as an object of `shape` (every field checked), or undefined. */
function problemOf(shape: object, v: unknown): string | undefined {
  if (!isObject(v)) return "not a JSON object";
  const checks = shape as Record<string, Check<unknown>>;
  for (const [name, c] of Object.entries(checks)) {
    if (!Object.hasOwn(v, name)) {
      if (c.optional) continue;
      return `field "${name}" is missing`;
    }
    if (!c.test(v[name])) return `field "${name}" is not ${c.what}`;
  }
  for (const name of Object.keys(v)) {
    if (name !== "type" && !Object.hasOwn(checks, name)) return `unknown field "${short(name)}"`;
  }
  return undefined;
}

/** A message checker: the typed message, or what is wrong with the value (a string). */
export type MessageCheck<M extends SyncMessage> = (v: unknown) => M | string;

function checker<U extends SyncMessage>(shapes: Shapes<U>): MessageCheck<U> {
  const table = shapes as Record<string, object>;
  return (v) => {
    if (!isObject(v)) return "not a JSON object";
    if (typeof v.type !== "string") return 'no "type" field';
    if (!Object.hasOwn(table, v.type)) return `unknown type "${short(v.type)}"`;
    const problem = problemOf(table[v.type]!, v);
    // Every field of the variant named by `type` was checked just above.
    return problem === undefined ? v as U : `"${v.type}" ${problem}`;
  };
}

/** Checks a value received from an init (what the runtime reads). */
export const checkInitMessage: MessageCheck<InitMessage> = checker(INIT_SHAPES);

/** Checks a value received from the runtime (what the Deno init reads). */
export const checkRuntimeMessage: MessageCheck<RuntimeMessage> = checker(RUNTIME_SHAPES);

/** How much of a bad message an error quotes. */
const PREFIX = 80;

// deno-lint-ignore no-control-regex
const LINE_BREAKING = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

/** A short prefix of `text` with control characters escaped, so that it stays on one line. */
function short(text: string): string {
  const cut = text.length > PREFIX ? text.slice(0, PREFIX) + "..." : text;
  return cut.replace(LINE_BREAKING, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * The one-line error for a message from `peer` that this side does not take there:
 * `<peer> sent an unexpected message: <short prefix of it> (<why>)`. `msg` is the raw line
 * or a parsed message.
 */
export function unexpectedMessage(
  peer: string,
  msg: string | SyncMessage,
  why?: string,
): DenkiError {
  const text = short(typeof msg === "string" ? msg : JSON.stringify(msg));
  return new DenkiError(
    `${peer} sent an unexpected message: ${text}${why === undefined ? "" : ` (${why})`}`,
  );
}
