/**
 * The bpf(2) calls cgroup v2 device control needs: load a BPF_PROG_TYPE_CGROUP_DEVICE program
 * (built by lib/plan/bpf_devices.ts), attach it to a cgroup, detach it, and list what is
 * attached. `union bpf_attr` is built by hand at the offsets of include/uapi/linux/bpf.h.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import { Errno } from "../plan/errno.ts";
import { cString, type SyscallResult } from "./libc.ts";
import { attempt } from "./call.ts";

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
/** Lets the container's program coexist with others on the same cgroup (all must allow). */
const BPF_F_ALLOW_MULTI = 2;

/** Bigger than every field set here; the kernel accepts a larger size if the tail is zero. */
const ATTR_SIZE = 128;
const LOG_SIZE = 64 * 1024;

/** Buffers the kernel reads through pointers inside a bpf_attr, referenced until it returns. */
const pinned: Uint8Array[] = [];

const addr = (buf: Uint8Array) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));

/** bpf(cmd, attr); `pins` are the buffers attr points at, kept alive across the call. */
function tryBpf(cmd: number, attr: Uint8Array, pins: Uint8Array[]): SyscallResult {
  pinned.push(...pins);
  try {
    // The verifier returns EAGAIN when a signal arrives mid-check; retry a few times as libbpf
    // does rather than forever, so a signal storm still ends.
    for (let tries = 0;; tries++) {
      const r = attempt("bpf", cmd, attr, attr.length);
      if (r.ret >= 0n || r.errno !== Errno.EAGAIN || tries >= 5) return r;
    }
  } finally {
    pinned.length -= pins.length;
  }
}

/** BPF_PROG_LOAD failed; the message ends with the last lines of the verifier log. */
export class BpfLoadError extends SyscallError {
  override name = "BpfLoadError";
  constructor(target: string, errno: number, readonly log: string) {
    super("bpf", target, errno);
    const tail = log.split("\n").map((l) => l.trim()).filter((l) => l !== "").slice(-6);
    if (tail.length > 0) this.message += `; verifier: ${tail.join(" | ")}`;
  }
}

function loadAttr(prog: Uint8Array, license: Uint8Array, log: Uint8Array | undefined): Uint8Array {
  const attr = new Uint8Array(ATTR_SIZE);
  const view = new DataView(attr.buffer);
  view.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true);
  view.setUint32(4, prog.length / 8, true);
  view.setBigUint64(8, addr(prog), true);
  view.setBigUint64(16, addr(license), true);
  if (log !== undefined) {
    view.setUint32(24, 1, true); // log_level
    view.setUint32(28, log.length, true);
    view.setBigUint64(32, addr(log), true);
  }
  // prog_name[16] at 48: shows up in bpftool, so the program can be traced back to denki.
  attr.set(cString("denki_devices"), 48);
  return attr;
}

/** Loads a cgroup device program (struct bpf_insn bytes); returns its fd (close-on-exec). */
export function loadDeviceProgram(prog: Uint8Array): number {
  const count = prog.length / 8;
  if (count === 0 || !Number.isInteger(count)) {
    throw new DenkiError(`bpf program of ${prog.length} bytes is not a list of instructions`);
  }
  const target = `BPF_PROG_LOAD cgroup device program (${count} insns)`;
  const license = cString("Apache");
  // No log first: at log level 1 the kernel logs the states it explores, and a long program
  // overflows any buffer, which fails the load with ENOSPC even when verification passed.
  const r = tryBpf(BPF_PROG_LOAD, loadAttr(prog, license, undefined), [prog, license]);
  if (r.ret >= 0n) return Number(r.ret);
  // Load again with a log only to say why it failed.
  const log = new Uint8Array(LOG_SIZE);
  const again = tryBpf(BPF_PROG_LOAD, loadAttr(prog, license, log), [prog, license, log]);
  if (again.ret >= 0n) return Number(again.ret);
  const end = log.indexOf(0);
  const text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end));
  throw new BpfLoadError(target, r.errno, text);
}

function attachAttr(cgroupFd: number, progFd: number, flags: number): Uint8Array {
  const attr = new Uint8Array(ATTR_SIZE);
  const view = new DataView(attr.buffer);
  view.setUint32(0, cgroupFd, true); // target_fd
  view.setUint32(4, progFd, true); // attach_bpf_fd
  view.setUint32(8, BPF_CGROUP_DEVICE, true); // attach_type
  view.setUint32(12, flags, true); // attach_flags
  return attr;
}

/** Attaches a loaded device program to the cgroup open at `cgroupFd` (BPF_F_ALLOW_MULTI). */
export function attachDeviceProgram(cgroupFd: number, progFd: number): void {
  const r = tryBpf(BPF_PROG_ATTACH, attachAttr(cgroupFd, progFd, BPF_F_ALLOW_MULTI), []);
  if (r.ret < 0n) throw new SyscallError("bpf", `BPF_PROG_ATTACH cgroup fd ${cgroupFd}`, r.errno);
}

/** Detaches the device program `progFd` from the cgroup open at `cgroupFd`. */
export function detachDeviceProgram(cgroupFd: number, progFd: number): void {
  const r = tryBpf(BPF_PROG_DETACH, attachAttr(cgroupFd, progFd, 0), []);
  if (r.ret < 0n) throw new SyscallError("bpf", `BPF_PROG_DETACH cgroup fd ${cgroupFd}`, r.errno);
}

/** The ids of the device programs attached directly to the cgroup open at `cgroupFd`. */
export function queryDevicePrograms(cgroupFd: number): number[] {
  for (let capacity = 64;;) {
    const ids = new Uint32Array(capacity);
    const idBytes = new Uint8Array(ids.buffer);
    const attr = new Uint8Array(ATTR_SIZE);
    const view = new DataView(attr.buffer);
    view.setUint32(0, cgroupFd, true); // target_fd
    view.setUint32(4, BPF_CGROUP_DEVICE, true); // attach_type
    view.setBigUint64(16, addr(idBytes), true); // prog_ids
    view.setUint32(24, capacity, true); // prog_cnt: in, room; out, the number attached
    const r = tryBpf(BPF_PROG_QUERY, attr, [idBytes]);
    const attached = view.getUint32(24, true);
    if (r.ret >= 0n) return [...ids.subarray(0, attached)];
    // ENOSPC: more programs than room; the kernel has stored how many there are.
    if (r.errno !== Errno.ENOSPC || attached <= capacity) {
      throw new SyscallError("bpf", `BPF_PROG_QUERY cgroup fd ${cgroupFd}`, r.errno);
    }
    capacity = attached;
  }
}
