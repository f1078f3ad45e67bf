/**
 * The first script of a native init (handoff.ts) over a recording fake kernel: it joins every
 * cgroup directory before it takes the rest, runs the stage program it is sent on the script it
 * is sent, and ends quietly when `create` closes the channel instead.
 */
import assert from "node:assert/strict";
import { AT_EMPTY_PATH, F_SETFD, FD_CLOEXEC } from "../../plan/abi.ts";
import { interpret } from "../../spawn/interp.ts";
import { Script } from "../../spawn/script.ts";
import { syscallName, syscallNumber } from "../../sys/nr.ts";
import { handoffSteps } from "./handoff.ts";

const CHANNEL = 5;
const SCRIPT_FD = 41;
const PROGRAM_FD = 42;

interface Call {
  name: string;
  args: readonly bigint[];
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const view = (ptr: bigint) => new Deno.UnsafePointerView(Deno.UnsafePointer.create(ptr)!);

/** Runs the first script; `eof` makes recvmsg report a closed channel. */
async function run(dirs: string[], eof = false) {
  const s = new Script(Deno.build.arch);
  handoffSteps(s, CHANNEL, dirs);
  const calls: Call[] = [];
  const opened: string[] = [];
  const written: string[] = [];
  let argv: string[] = [];
  let code: number | undefined;
  let nextFd = 100;
  try {
    await interpret(s.build({ fd: CHANNEL, failCode: 1, text: false }), {
      special: () => Promise.reject(new Error("no special steps here")),
      write: () => {},
      exit: (c) => {
        throw new Exit(c);
      },
      cloneNr: syscallNumber("clone"),
      syscall: (nr, args) => {
        const name = syscallName(nr) ?? `#${nr}`;
        calls.push({ name, args });
        if (name === "openat") {
          opened.push(view(args[1]!).getCString());
          return BigInt(nextFd++);
        }
        if (name === "write") {
          written.push(view(args[1]!).getCString().slice(0, Number(args[2])));
          return args[2]!;
        }
        if (name === "recvmsg") {
          if (eof) return 0n;
          // msghdr: msg_control at +32; the cmsg's data (two fds) at +16 and +20 of it.
          const control = view(args[1]!).getBigUint64(32);
          const buf = new DataView(
            Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(control)!, 24),
          );
          buf.setInt32(16, SCRIPT_FD, true);
          buf.setInt32(20, PROGRAM_FD, true);
          return 1n;
        }
        if (name === "execveat") {
          const a = view(args[2]!);
          argv = [];
          for (let i = 0;; i += 8) {
            const p = a.getBigUint64(i);
            if (p === 0n) break;
            argv.push(view(p).getCString());
          }
          throw new Exit(-1); // the exec replaces the process: nothing after it runs
        }
        return 0n;
      },
    });
  } catch (err) {
    if (!(err instanceof Exit)) throw err;
    code = err.code;
  }
  return { calls, opened, written, argv, code };
}

Deno.test("handoff: joins each cgroup, then runs the stage program it is sent on the script", async () => {
  const dirs = ["/sys/fs/cgroup/memory/c1", "/sys/fs/cgroup/pids/c1"];
  const r = await run(dirs);
  assert.deepEqual(r.opened, dirs.map((d) => `${d}/cgroup.procs`));
  assert.deepEqual(r.written, ["0", "0"], "writes itself (0) into each cgroup.procs");
  const names = r.calls.map((c) => c.name);
  const recv = names.indexOf("recvmsg");
  assert.ok(recv > names.lastIndexOf("write"), "takes the rest only once in every cgroup");
  assert.equal(r.calls[recv]!.args[0], BigInt(CHANNEL));
  const fcntl = r.calls.find((c) => c.name === "fcntl")!;
  assert.deepEqual(fcntl.args.slice(0, 3), [
    BigInt(PROGRAM_FD),
    BigInt(F_SETFD),
    BigInt(FD_CLOEXEC),
  ]);
  const exec = r.calls.at(-1)!;
  assert.equal(exec.name, "execveat");
  assert.equal(exec.args[0], BigInt(PROGRAM_FD));
  assert.equal(exec.args[4], BigInt(AT_EMPTY_PATH));
  assert.deepEqual(r.argv, ["denki-stage", String(SCRIPT_FD)]);
});

Deno.test("handoff: a closed channel (create gave up) ends the init quietly, running nothing", async () => {
  const r = await run([], true);
  assert.equal(r.code, 1);
  assert.ok(!r.calls.some((c) => c.name === "execveat"));
});
