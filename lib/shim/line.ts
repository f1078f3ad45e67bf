/** Line-at-a-time reading on a socket, for the spare daemon's hand-over. */

/** One line (without its newline) of at most `max` bytes, or undefined at EOF or timeout. */
export async function readLine(
  conn: Deno.Conn,
  max: number,
  timeoutMs: number,
): Promise<string | undefined> {
  const buf = new Uint8Array(max);
  let n = 0;
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    while (n < max) {
      const r = await conn.read(buf.subarray(n));
      if (r === null) return undefined;
      n += r;
      const nl = buf.subarray(0, n).indexOf(10);
      if (nl >= 0) return new TextDecoder().decode(buf.subarray(0, nl));
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
