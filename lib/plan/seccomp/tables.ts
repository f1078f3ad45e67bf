/**
 * Seccomp architectures and their syscall tables: what a filter tests seccomp_data.arch
 * against, and the numbers syscall names stand for on each ABI. The tables themselves are
 * generated (tables_data.ts, see bin/gen_seccomp_tables.ts) and parsed on first use, so loading this
 * module costs nothing for a container without seccomp.
 */
import { SYSCALL_DATA } from "./tables_data.ts";

/** The ABIs denki can build filters for. */
export type SeccompArch = "x86_64" | "x86" | "x32" | "aarch64" | "arm";

/** AUDIT_ARCH_* (include/uapi/linux/audit.h): seccomp_data.arch for each ABI. */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = {
  x86_64: 0xc000003e,
  // x32 runs with the x86_64 audit arch; its syscall numbers carry __X32_SYSCALL_BIT.
  x32: 0xc000003e,
  x86: 0x40000003,
  aarch64: 0xc00000b7,
  arm: 0x40000028,
};

/** __X32_SYSCALL_BIT: set in the number of every x32 syscall. */
export const X32_SYSCALL_BIT = 0x40000000;

/** OCI (libseccomp) architecture names denki builds filters for. */
export const SCMP_ARCHES: Readonly<Record<string, SeccompArch>> = {
  SCMP_ARCH_X86_64: "x86_64",
  SCMP_ARCH_X86: "x86",
  SCMP_ARCH_X32: "x32",
  SCMP_ARCH_AARCH64: "aarch64",
  SCMP_ARCH_ARM: "arm",
};

/** ABIs a native architecture's kernel can run besides its own. */
export const COMPAT_ARCHES: Readonly<Record<"x86_64" | "aarch64", readonly SeccompArch[]>> = {
  x86_64: ["x86", "x32"],
  aarch64: ["arm"],
};

/** Whether an ABI passes 32-bit syscall arguments (libseccomp then compares low halves only). */
export function is32Bit(arch: SeccompArch): boolean {
  return arch === "x86" || arch === "x32" || arch === "arm";
}

const parsed = new Map<SeccompArch, ReadonlyMap<string, number>>();

/** Decodes a table: names in number order, `@N` setting the next number. */
function decode(data: string, bias: number): Map<string, number> {
  const out = new Map<string, number>();
  let nr = 0;
  for (const token of data.split(" ")) {
    if (token === "") continue;
    if (token.startsWith("@")) {
      nr = Number(token.slice(1));
      continue;
    }
    out.set(token, (nr | bias) >>> 0);
    nr++;
  }
  return out;
}

/** Syscall name → number for `arch` (x32 numbers include __X32_SYSCALL_BIT). */
export function syscallTable(arch: SeccompArch): ReadonlyMap<string, number> {
  let table = parsed.get(arch);
  if (table === undefined) {
    table = decode(SYSCALL_DATA[arch], arch === "x32" ? X32_SYSCALL_BIT : 0);
    parsed.set(arch, table);
  }
  return table;
}

/** The number of syscall `name` on `arch`, or undefined when that ABI has no such call. */
export function syscallNr(arch: SeccompArch, name: string): number | undefined {
  return syscallTable(arch).get(name);
}
