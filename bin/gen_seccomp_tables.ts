/**
 * Regenerates lib/plan/seccomp/tables_data.ts, the syscall name → number tables the seccomp
 * compiler uses. Run by hand when the tables need new syscalls (it lives here, not in lib/plan,
 * because it reads headers and runs cpp: lib/plan touches no Deno API):
 *
 *   deno run --allow-read --allow-write --allow-run bin/gen_seccomp_tables.ts ARM_TBL
 *
 * Where each table comes from:
 * - x86_64, x86 (i386), x32: the uapi headers of Debian's linux-libc-dev (asm/unistd_64.h,
 *   asm/unistd_32.h, asm/unistd_x32.h under /usr/include/x86_64-linux-gnu). The x32 numbers
 *   are stored without __X32_SYSCALL_BIT, which tables.ts adds back.
 * - aarch64: /usr/include/asm-generic/unistd.h, run through cpp with __BITS_PER_LONG=64 and
 *   the __ARCH_WANT_* macros arm64's own asm/unistd.h defines.
 * - arm (EABI): the kernel's arch/arm/tools/syscall.tbl (ARM_TBL: a copy of it, or of its
 *   num/abi/name columns; Linux v6.18 for the committed table), "common" and "eabi" rows,
 *   plus the ARM-private calls at 0x0f0000 + n from arch/arm/include/uapi/asm/unistd.h.
 * - Syscalls newer than the headers: numbers from 424 on are the same on every architecture
 *   here, so those the arm table has and a header lacks are added to that table too.
 */

const ROOT = "/usr/include";
const X86 = `${ROOT}/x86_64-linux-gnu/asm`;

/** arm64's uapi asm/unistd.h: the optional asm-generic calls it takes. */
const ARM64_WANTS = [
  "__ARCH_WANT_RENAMEAT",
  "__ARCH_WANT_NEW_STAT",
  "__ARCH_WANT_SET_GET_RLIMIT",
  "__ARCH_WANT_TIME32_SYSCALLS",
  "__ARCH_WANT_SYS_CLONE3",
  "__ARCH_WANT_MEMFD_SECRET",
];

/** __ARM_NR_BASE (0x0f0000 on EABI) + n. */
const ARM_PRIVATE: [string, number][] = [
  ["breakpoint", 1],
  ["cacheflush", 2],
  ["usr26", 3],
  ["usr32", 4],
  ["set_tls", 5],
  ["get_tls", 6],
];

/** From 424 on, new syscalls share one number across architectures. */
const UNIFIED_FROM = 424;

type Table = Map<string, number>;

/** `#define __NR_name <number>` or `(__X32_SYSCALL_BIT + <number>)` lines. */
function fromHeader(path: string): Table {
  const out: Table = new Map();
  const re = /^#define __NR_(\w+)\s+(?:\(__X32_SYSCALL_BIT \+ )?(\d+)\)?\s*$/;
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    const m = re.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** The asm-generic table as arm64 builds it, with __NR3264_* aliases resolved. */
async function aarch64(): Promise<Table> {
  const src = ARM64_WANTS.map((w) => `#define ${w}\n`).join("") +
    "#include <asm-generic/unistd.h>\n";
  const cpp = new Deno.Command("cpp", {
    args: ["-undef", "-D__BITS_PER_LONG=64", "-dM", `-I${ROOT}`, "-"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = cpp.stdin.getWriter();
  await w.write(new TextEncoder().encode(src));
  await w.close();
  const out = await cpp.output();
  if (!out.success) throw new Error("cpp failed on asm-generic/unistd.h");
  return parseMacros(new TextDecoder().decode(out.stdout));
}

function parseMacros(text: string): Table {
  const macros = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^#define (__NR\w+) (\S+)$/.exec(line);
    if (m) macros.set(m[1]!, m[2]!);
  }
  const out: Table = new Map();
  for (const [name, value] of macros) {
    if (!name.startsWith("__NR_") || name === "__NR_syscalls") continue;
    if (name === "__NR_arch_specific_syscall") continue;
    const resolved = /^\d+$/.test(value) ? value : macros.get(value);
    if (resolved !== undefined && /^\d+$/.test(resolved)) out.set(name.slice(5), Number(resolved));
  }
  return out;
}

/** Rows `num abi name [entry...]` of a kernel syscall.tbl, for the given ABIs. */
function fromTbl(path: string, abis: string[]): Table {
  const out: Table = new Map();
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const [num, abi, name] = line.split(/\s+/);
    if (abis.includes(abi!)) out.set(name!, Number(num));
  }
  return out;
}

/** Names in number order; `@N` sets the next number, otherwise each is the last plus one. */
function encode(table: Table): string {
  const rows = [...table].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  const parts: string[] = [];
  let next = 0;
  for (const [name, nr] of rows) {
    if (nr !== next) parts.push(`@${nr}`);
    parts.push(name);
    next = nr + 1;
  }
  // Lines of at most ~90 characters keep the generated file readable and formatted.
  const lines: string[] = [];
  let line = "";
  for (const p of parts) {
    if (line.length + p.length + 1 > 88) {
      lines.push(line);
      line = "";
    }
    line = line ? `${line} ${p}` : p;
  }
  if (line) lines.push(line);
  return lines.map((l) => `    "${l} " +`).join("\n").replace(/ " \+$/, `",`);
}

async function main(): Promise<void> {
  const armTbl = Deno.args[0];
  if (!armTbl) throw new Error("usage: gen_seccomp_tables.ts ARM_SYSCALL_TBL");
  const arm = fromTbl(armTbl, ["common", "eabi"]);
  for (const [name, n] of ARM_PRIVATE) arm.set(name, 0x0f0000 + n);
  const tables: Record<string, Table> = {
    x86_64: fromHeader(`${X86}/unistd_64.h`),
    x86: fromHeader(`${X86}/unistd_32.h`),
    x32: fromHeader(`${X86}/unistd_x32.h`),
    aarch64: await aarch64(),
    arm,
  };
  for (const [arch, table] of Object.entries(tables)) {
    if (arch === "arm") continue;
    const top = Math.max(...[...table.values()].filter((n) => n < 512));
    for (const [name, nr] of arm) {
      if (nr >= UNIFIED_FROM && nr > top && !table.has(name)) table.set(name, nr);
    }
  }
  const body = Object.entries(tables).map(([arch, t]) => `  ${arch}:\n${encode(t)}`).join("\n");
  const file =
    `// Generated by bin/gen_seccomp_tables.ts (which says where each table comes from): do not edit.

/** Per architecture: syscall names in number order, \`@N\` marking a jump to number N. */
export const SYSCALL_DATA = {
${body}
} as const;
`;
  const out = new URL("../lib/plan/seccomp/tables_data.ts", import.meta.url).pathname;
  Deno.writeTextFileSync(out, file);
  // The project's formatter has the last word on layout, so regenerating changes no bytes.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", out] }).output();
}

if (import.meta.main) await main();
