/** sock_accept, sock_recv, sock_send, sock_shutdown on preopened sockets (ENOTSOCK elsewhere). */
import { MSG_PEEK, MSG_WAITALL } from "../../../lib/plan/abi.ts";
import { Errno } from "../../../lib/plan/errno.ts";
import { linuxErrno, WasiError } from "./errno.ts";
import type { FdEntry } from "./fd_table.ts";
import { type FsContext, sleepMs } from "./fs.ts";
import { E, FDFLAGS, FT, R, RI, SD, SOCKET_RIGHTS } from "./types.ts";

const { EAGAIN } = Errno;

/** The socket functions. */
export class Sockets {
  constructor(readonly ctx: FsContext) {}

  #socket(fd: number, rights: bigint): FdEntry & { socket: number } {
    const e = this.ctx.table.get(fd);
    if (e.kind !== "socket" || e.socket === undefined) throw new WasiError(E.NOTSOCK);
    if ((e.rightsBase & rights) !== rights) throw new WasiError(E.NOTCAPABLE);
    if (!this.ctx.native) throw new WasiError(E.NOTSUP);
    return e as FdEntry & { socket: number };
  }

  sock_accept(fd: number, flags: number, fdPtr: number): number {
    const e = this.#socket(fd, R.SOCK_ACCEPT);
    if (flags & ~FDFLAGS.NONBLOCK) return E.INVAL;
    const native = this.ctx.native!;
    for (;;) {
      const r = native.accept(e.socket, (flags & FDFLAGS.NONBLOCK) !== 0);
      if (typeof r === "number") {
        const nfd = this.ctx.table.add({
          kind: "socket",
          filetype: FT.SOCKET_STREAM,
          rightsBase: SOCKET_RIGHTS & ~R.SOCK_ACCEPT,
          rightsInheriting: 0n,
          flags: flags & FDFLAGS.NONBLOCK,
          socket: r,
        });
        this.ctx.mem.setU32(fdPtr, nfd);
        return E.SUCCESS;
      }
      // A listening socket handed over non-blocking still blocks for a blocking guest.
      if (r.errno === EAGAIN && !(e.flags & FDFLAGS.NONBLOCK)) {
        native.poll([{ fd: e.socket, events: 1 }], undefined);
        continue;
      }
      return linuxErrno(r.errno);
    }
  }

  sock_recv(
    fd: number,
    riData: number,
    riLen: number,
    riFlags: number,
    roLenPtr: number,
    roFlagsPtr: number,
  ): number {
    const e = this.#socket(fd, R.FD_READ);
    if (riFlags & ~(RI.RECV_PEEK | RI.RECV_WAITALL)) return E.INVAL;
    const flags = (riFlags & RI.RECV_PEEK ? MSG_PEEK : 0) |
      (riFlags & RI.RECV_WAITALL ? MSG_WAITALL : 0);
    const bufs = this.ctx.mem.iovecs(riData, riLen);
    let total = 0;
    for (const b of bufs) {
      if (b.length === 0) continue;
      const r = this.#retry(e, () => this.ctx.native!.recv(e.socket, b, flags));
      if (typeof r !== "number") {
        if (total > 0) break;
        return linuxErrno(r.errno);
      }
      total += r;
      if (r < b.length) break;
    }
    this.ctx.mem.setU32(roLenPtr, total);
    this.ctx.mem.setU16(roFlagsPtr, 0);
    return E.SUCCESS;
  }

  sock_send(fd: number, siData: number, siLen: number, siFlags: number, soLenPtr: number): number {
    const e = this.#socket(fd, R.FD_WRITE);
    if (siFlags !== 0) return E.INVAL;
    let total = 0;
    for (const b of this.ctx.mem.iovecs(siData, siLen)) {
      let off = 0;
      while (off < b.length) {
        const r = this.#retry(e, () => this.ctx.native!.send(e.socket, b.subarray(off)));
        if (typeof r !== "number") {
          if (total + off > 0) break;
          return linuxErrno(r.errno);
        }
        off += r;
      }
      total += off;
    }
    this.ctx.mem.setU32(soLenPtr, total);
    return E.SUCCESS;
  }

  sock_shutdown(fd: number, how: number): number {
    const e = this.#socket(fd, R.SOCK_SHUTDOWN);
    const map: Record<number, number> = { [SD.RD]: 0, [SD.WR]: 1, [SD.RD | SD.WR]: 2 };
    const h = map[how];
    if (h === undefined) return E.INVAL;
    const errno = this.ctx.native!.shutdown(e.socket, h);
    return errno === 0 ? E.SUCCESS : linuxErrno(errno);
  }

  /** Retries EAGAIN for a blocking guest descriptor (the host socket may be non-blocking). */
  #retry(e: FdEntry, op: () => number | { errno: number }): number | { errno: number } {
    for (;;) {
      const r = op();
      if (typeof r === "number" || r.errno !== EAGAIN || e.flags & FDFLAGS.NONBLOCK) return r;
      const ready = this.ctx.native!.poll([{ fd: e.socket!, events: 1 | 4 }], 1_000_000_000n);
      if ("errno" in ready) sleepMs(1);
    }
  }
}
