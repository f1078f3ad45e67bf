/** Signal names and numbers (Linux x86_64/aarch64), as `kill` accepts them. */

/** Signal name (without SIG) to number. */
export const SIGNALS = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
} as const satisfies Readonly<Record<string, number>>;

const BY_NAME: Readonly<Record<string, number>> = SIGNALS;

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/**
 * Parses a signal as runc does: a number, or a name with or without "SIG" in any case,
 * including RTMIN+n / RTMAX-n. Returns undefined for anything else.
 */
export function parseSignal(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= SIGRTMAX ? n : undefined;
  }
  let name = text.toUpperCase();
  if (name.startsWith("SIG")) name = name.slice(3);
  const rt = /^RTM(IN|AX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const n = (rt[1] === "IN" ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
  }
  return BY_NAME[name];
}

/** The name of a signal number ("SIGTERM"), or "signal N". */
export function signalName(n: number): string {
  const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
  return name ? `SIG${name}` : `signal ${n}`;
}
