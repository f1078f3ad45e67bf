/**
 * Running the native stage: its program lives in a sealed memfd (a private, unwritable copy: a
 * container that reaches it through /proc/PID/exe can change nothing), and each run gets its
 * script through an inherited memfd.
 */
import { DenkiError, SyscallError } from "../errors.ts";
import * as sc from "../sys/syscalls.ts";
import { execveatEmpty, fcntl, lseek, memfdCreate } from "../sys/memfd.ts";
import { STAGE_AARCH64, STAGE_X86_64 } from "./stage_blob.ts";

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const MFD_NOEXEC_SEAL = 8;
const MFD_EXEC = 0x10;
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 1;
const F_SEAL_SHRINK = 2;
const F_SEAL_GROW = 4;
const F_SEAL_WRITE = 8;
const SEEK_SET = 0;

let program: number | undefined;

function decode(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** memfd_create with the exec flag a kernel of 6.3 or later wants said out loud. */
function memfd(name: string, flags: number, extra: number): number {
  const r = memfdCreate(name, flags | extra);
  if (r.fd >= 0) return r.fd;
  // Kernels before 6.3 know neither MFD_EXEC nor MFD_NOEXEC_SEAL.
  if (r.errno === sc.Errno.EINVAL) {
    const again = memfdCreate(name, flags);
    if (again.fd >= 0) return again.fd;
    throw new SyscallError("memfd_create", name, again.errno);
  }
  if (r.errno === sc.Errno.EACCES && extra === MFD_EXEC) {
    throw new DenkiError(
      "cannot run denki's native stage: this kernel refuses executable memfds (vm.memfd_noexec=2)",
    );
  }
  throw new SyscallError("memfd_create", name, r.errno);
}

/** The stage program for this machine, as bytes. */
export function stageBytes(arch: string = Deno.build.arch): Uint8Array {
  return decode(arch === "aarch64" ? STAGE_AARCH64 : STAGE_X86_64);
}

/** A close-on-exec fd of a sealed memfd holding the stage program (made once per process). */
export function stageProgram(): number {
  if (program !== undefined) return program;
  const fd = memfd("denki-stage", MFD_CLOEXEC | MFD_ALLOW_SEALING, MFD_EXEC);
  try {
    sc.writeAll(fd, stageBytes(), "stage memfd");
    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
  } catch (err) {
    sc.close(fd);
    throw err;
  }
  program = fd;
  return fd;
}

/** Puts a script into a memfd a child inherits (not close-on-exec), read from its start. */
export function scriptFd(script: Uint8Array): number {
  const fd = memfd("denki-script", MFD_ALLOW_SEALING, MFD_NOEXEC_SEAL);
  try {
    sc.writeAll(fd, script, "script memfd");
    lseek(fd, 0, SEEK_SET);
  } catch (err) {
    sc.close(fd);
    throw err;
  }
  return fd;
}

/**
 * Starts the stage on a script as a child of this process (stdio and every fd without
 * close-on-exec are inherited); returns its pid.
 */
export function launchStage(script: Uint8Array): number {
  const prog = stageProgram();
  const fd = scriptFd(script);
  try {
    return sc.spawn(`/proc/self/fd/${prog}`, ["denki-stage", String(fd)], []);
  } finally {
    sc.close(fd);
  }
}

/**
 * Replaces this process with the stage running `script` (the last step of an init: whatever
 * must happen after Deno is gone). Only returns by throwing.
 */
export function execStage(script: Uint8Array): never {
  const prog = stageProgram();
  const fd = scriptFd(script);
  try {
    execveatEmpty(prog, ["denki-stage", String(fd)], []);
  } finally {
    sc.close(fd);
  }
}
