/**
 * The binary script format the native stage (stage.c) reads: what script.ts writes and the
 * TypeScript interpreter (interp.ts) reads back, written once for both. stage.c has its own
 * copy of these numbers in C.
 */

/** The header's first 8 bytes: "DNKSTG01". */
export const MAGIC = 0x31304754534b4e44n;
export const HEADER_SIZE = 64;
/** Bytes per instruction: op, flags, slot, syscall number, target, ok errnos, expect, 6 args. */
export const INS_SIZE = 128;
/** Errno names the text reports can carry (errno numbers below this). */
export const N_NAMES = 134;
export const MAX_SLOTS = 64;

/** Instruction opcodes. */
export const OP = {
  syscall: 1,
  poke32: 2,
  poke64: 3,
  exit: 4,
  jump: 5,
  report: 6,
  load32: 7,
  format: 8,
  set: 9,
  reports: 10,
  fail: 11,
  load64: 12,
  special: 13,
} as const;

/** Instruction flags. */
export const F_IGNORE = 1;
export const F_EXPECT = 2;
/** A result of 0 (end of file) exits quietly with status `expect`. */
export const F_EXIT_EOF = 4;
export const F_BRANCH = 8;
export const F_ON_ERROR = 16;
export const F_ON_OK = 32;

/** An argument's kind: a plain number (0), a slot's value, or an address in the data. */
export const ARG_SLOT = 1;
export const ARG_DATA = 2;
