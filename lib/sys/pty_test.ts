import assert from "node:assert/strict";
import { syscall } from "./libc.ts";
import {
  getTermios,
  getWindowSize,
  isTerminal,
  makeRaw,
  openPeer,
  openPtmx,
  type PollFd,
  pollFds,
  POLLIN,
  ptyNumber,
  setNonblocking,
  setTermios,
  setWindowSize,
  unlockPty,
} from "./pty.ts";

function hasPtmx(): boolean {
  try {
    syscall("close", openPtmx());
    return true;
  } catch {
    return false;
  }
}

const enc = new TextEncoder();

function write(fd: number, text: string): void {
  const b = enc.encode(text);
  assert.equal(Number(syscall("write", fd, b, b.length).ret), b.length);
}

function readSome(fd: number): string {
  const buf = new Uint8Array(256);
  const n = Number(syscall("read", fd, buf, buf.length).ret);
  return new TextDecoder().decode(buf.subarray(0, Math.max(n, 0)));
}

const ptmx = hasPtmx();

Deno.test({
  name: "pty: a pair from /dev/ptmx carries bytes, sizes and raw mode" +
    (ptmx ? "" : " [skipped: /dev/ptmx cannot be opened]"),
  ignore: !ptmx,
  fn() {
    const master = openPtmx();
    let peer = -1;
    try {
      unlockPty(master);
      assert.ok(ptyNumber(master) >= 0);
      peer = openPeer(master);
      assert.ok(isTerminal(peer));
      setWindowSize(master, { rows: 33, cols: 101 });
      assert.deepEqual(getWindowSize(peer), { rows: 33, cols: 101 });

      const cooked = getTermios(peer)!;
      setTermios(peer, makeRaw(cooked));
      write(master, "ab\r");
      const ready: PollFd[] = [{ fd: peer, events: POLLIN }];
      assert.equal(pollFds(ready, 1000), 1);
      assert.equal(ready[0]!.revents! & POLLIN, POLLIN);
      assert.equal(readSome(peer), "ab\r", "raw: no CR-to-NL mapping, no line buffering");
      setTermios(peer, cooked);
      assert.deepEqual(getTermios(peer), cooked);

      setNonblocking(master);
      const empty = new Uint8Array(8);
      const r = syscall("read", master, empty, empty.length);
      assert.equal(r.errno, 11, "EAGAIN once non-blocking and empty");
    } finally {
      if (peer >= 0) syscall("close", peer);
      syscall("close", master);
    }
  },
});

Deno.test("pty: makeRaw is cfmakeraw", () => {
  const t = new Uint8Array(36);
  const v = new DataView(t.buffer);
  // A typical cooked terminal: ICRNL|IXON, OPOST|ONLCR, CS8|CREAD, ISIG|ICANON|ECHO|IEXTEN.
  v.setUint32(0, 0o400 | 0o2000, true);
  v.setUint32(4, 0o1 | 0o4, true);
  v.setUint32(8, 0o60 | 0o200, true);
  v.setUint32(12, 0o1 | 0o2 | 0o10 | 0o100000, true);
  t[17 + 6] = 0;
  t[17 + 5] = 3;
  const raw = makeRaw(t);
  const r = new DataView(raw.buffer);
  assert.equal(r.getUint32(0, true), 0);
  assert.equal(r.getUint32(4, true), 0o4, "ONLCR is kept; OPOST off disables it");
  assert.equal(r.getUint32(8, true), 0o60 | 0o200);
  assert.equal(r.getUint32(12, true), 0);
  assert.equal(raw[17 + 6], 1);
  assert.equal(raw[17 + 5], 0);
  assert.equal(v.getUint32(0, true), 0o400 | 0o2000, "the input is not changed");
});

Deno.test("pty: a socket is not a terminal", () => {
  const fds = new Int32Array(2);
  syscall("socketpair", 1, 1 | 0o2000000, 0, new Uint8Array(fds.buffer));
  try {
    assert.equal(isTerminal(fds[0]!), false);
    assert.equal(getWindowSize(fds[0]!), undefined);
  } finally {
    syscall("close", fds[0]!);
    syscall("close", fds[1]!);
  }
});
