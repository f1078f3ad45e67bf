/**
 * The only place denki opens libc. Everything goes through the raw `syscall(2)` entry point
 * (one FFI symbol instead of one per call: each declared symbol costs start-up time) plus
 * `__errno_location`. Raw syscalls also act on the calling thread only, which is what the
 * container init needs for credentials and namespaces.
 *
 * Why FFI for plain file reads too: Deno's fs APIs refuse every path under /proc, /sys and
 * most of /dev unless the process has --allow-all, which denki never asks for.
 */
import { type SyscallName, syscallNumber } from "./nr.ts";

export type { SyscallName };

type Libc = {
  syscall(nr: bigint, a: bigint, b: bigint, c: bigint, d: bigint, e: bigint, f: bigint): bigint;
  errno(): number;
};

let libc: Libc | undefined;

function open(): Libc {
  const lib = Deno.dlopen("libc.so.6", {
    syscall: { parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], result: "i64" },
    __errno_location: { parameters: [], result: "pointer" },
  });
  const errnoPtr = lib.symbols.__errno_location();
  if (errnoPtr === null) throw new Error("libc: __errno_location returned NULL");
  const errnoView = new Deno.UnsafePointerView(errnoPtr);
  return {
    syscall: (nr, a, b, c, d, e, f) => BigInt(lib.symbols.syscall(nr, a, b, c, d, e, f)),
    // errno is per thread; denki calls syscalls from the JS thread only.
    errno: () => errnoView.getInt32(),
  };
}

/** A syscall argument: a number, a bigint, or a buffer passed by address. */
export type SyscallArg = number | bigint | Uint8Array;

/** The result of one raw syscall: its return value, or -1 and errno. */
export interface SyscallResult {
  ret: bigint;
  errno: number;
}

function arg(a: SyscallArg | undefined): bigint {
  if (a === undefined) return 0n;
  if (a instanceof Uint8Array) return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a)));
  return BigInt(a);
}

/** Calls a syscall by name on the calling thread. */
export function syscall(name: SyscallName, ...args: SyscallArg[]): SyscallResult {
  libc ??= open();
  const [a, b, c, d, e, f] = args;
  const ret = libc.syscall(
    BigInt(syscallNumber(name)),
    arg(a),
    arg(b),
    arg(c),
    arg(d),
    arg(e),
    arg(f),
  );
  return { ret, errno: ret === -1n ? libc.errno() : 0 };
}

/**
 * A syscall by number with arguments already as 64-bit values (pointers included); returns the
 * kernel's convention: the result, or -errno. For interpreting stage scripts (lib/spawn).
 */
export function syscallNr(
  nr: number,
  a: bigint,
  b: bigint,
  c: bigint,
  d: bigint,
  e: bigint,
  f: bigint,
): bigint {
  libc ??= open();
  const ret = libc.syscall(BigInt(nr), a, b, c, d, e, f);
  return ret === -1n ? -BigInt(libc.errno()) : ret;
}

/** A NUL-terminated copy of a string, for path arguments. */
export function cString(s: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

type Spawner = {
  posixSpawn(pid: Uint8Array, path: Uint8Array, argv: Uint8Array, envp: Uint8Array): number;
};

let spawner: Spawner | undefined;

/**
 * posix_spawn(3), opened on first use (declaring it up front would cost every command).
 * glibc runs the child side in C (clone with CLONE_VFORK), never JS, and it costs well under
 * a millisecond where the first Deno.Command spawn of a process costs several.
 */
export function posixSpawn(
  path: Uint8Array,
  argv: Uint8Array,
  envp: Uint8Array,
): { pid: number; error: number } {
  spawner ??= (() => {
    const lib = Deno.dlopen("libc.so.6", {
      posix_spawn: {
        parameters: ["buffer", "buffer", "pointer", "pointer", "buffer", "buffer"],
        result: "i32",
      },
    });
    return {
      posixSpawn: (pid, p, a, e) => lib.symbols.posix_spawn(pid, p, null, null, a, e),
    };
  })();
  const pid = new Int32Array(1);
  const error = spawner.posixSpawn(new Uint8Array(pid.buffer), path, argv, envp);
  return { pid: pid[0]!, error };
}
