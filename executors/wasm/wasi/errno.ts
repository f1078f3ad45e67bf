/** Host errors to WASI errno values, as a table. */
import { errnoName } from "../../../lib/plan/errno.ts";
import { E } from "./types.ts";

/** A WASI call failed with `errno`; thrown inside the host and returned to the guest. */
export class WasiError extends Error {
  override name = "WasiError";
  constructor(readonly errno: number) {
    super(`wasi errno ${errno}`);
  }
}

/** Linux errno names (as Deno's error `code`s) to WASI errno values. */
export const ERRNO_BY_CODE: Readonly<Record<string, number>> = {
  E2BIG: E.TOOBIG,
  EACCES: E.ACCES,
  EADDRINUSE: E.ADDRINUSE,
  EADDRNOTAVAIL: E.ADDRNOTAVAIL,
  EAFNOSUPPORT: E.AFNOSUPPORT,
  EAGAIN: E.AGAIN,
  EWOULDBLOCK: E.AGAIN,
  EALREADY: E.ALREADY,
  EBADF: E.BADF,
  EBUSY: E.BUSY,
  ECONNABORTED: E.CONNABORTED,
  ECONNREFUSED: E.CONNREFUSED,
  ECONNRESET: E.CONNRESET,
  EDQUOT: E.DQUOT,
  EEXIST: E.EXIST,
  EFAULT: E.FAULT,
  EFBIG: E.FBIG,
  EINTR: E.INTR,
  EINVAL: E.INVAL,
  EIO: E.IO,
  EISCONN: E.ISCONN,
  EISDIR: E.ISDIR,
  ELOOP: E.LOOP,
  EMFILE: E.MFILE,
  EMLINK: E.MLINK,
  ENAMETOOLONG: E.NAMETOOLONG,
  ENFILE: E.NFILE,
  ENOBUFS: E.NOBUFS,
  ENODEV: E.NODEV,
  ENOENT: E.NOENT,
  ENOMEM: E.NOMEM,
  ENOSPC: E.NOSPC,
  ENOSYS: E.NOSYS,
  ENOTCONN: E.NOTCONN,
  ENOTDIR: E.NOTDIR,
  ENOTEMPTY: E.NOTEMPTY,
  ENOTSOCK: E.NOTSOCK,
  ENOTSUP: E.NOTSUP,
  EOPNOTSUPP: E.NOTSUP,
  ENOTTY: E.NOTTY,
  ENXIO: E.NXIO,
  EOVERFLOW: E.OVERFLOW,
  EPERM: E.PERM,
  EPIPE: E.PIPE,
  ERANGE: E.RANGE,
  EROFS: E.ROFS,
  ESPIPE: E.SPIPE,
  ESRCH: E.SRCH,
  ETIMEDOUT: E.TIMEDOUT,
  ETXTBSY: E.TXTBSY,
  EXDEV: E.XDEV,
};

/** The WASI errno for anything the host threw. */
export function errnoOf(err: unknown): number {
  if (err instanceof WasiError) return err.errno;
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    // Deno refuses paths outside the Worker's grant (or /proc, /sys): no capability.
    const code = (err as { code?: string }).code;
    if (code === "EACCES" || code === "EPERM") return ERRNO_BY_CODE[code]!;
    return E.NOTCAPABLE;
  }
  const code = (err as { code?: string } | null)?.code;
  if (code !== undefined && ERRNO_BY_CODE[code] !== undefined) return ERRNO_BY_CODE[code]!;
  if (err instanceof Deno.errors.NotFound) return E.NOENT;
  if (err instanceof Deno.errors.AlreadyExists) return E.EXIST;
  if (err instanceof Deno.errors.NotADirectory) return E.NOTDIR;
  if (err instanceof Deno.errors.IsADirectory) return E.ISDIR;
  if (err instanceof Deno.errors.BrokenPipe) return E.PIPE;
  if (err instanceof Deno.errors.WouldBlock) return E.AGAIN;
  if (err instanceof Deno.errors.FilesystemLoop) return E.LOOP;
  if (err instanceof Deno.errors.InvalidData) return E.INVAL;
  return E.IO;
}

/** A Linux errno number (from a raw syscall) as a WASI errno. */
export function linuxErrno(n: number): number {
  return ERRNO_BY_CODE[errnoName(n) ?? ""] ?? E.IO;
}

/** Runs a Deno call, turning what it throws into a WasiError. */
export function host<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new WasiError(errnoOf(err));
  }
}
