/**
 * `denki update ID`: change a live container's resource limits, from a `linux.resources`
 * JSON file (`-r FILE`, `-` for stdin) and/or runc's flags, which win over the file.
 */
import type { OptionDefs } from "../cli/command.ts";
import { causeOf, DenkiError } from "../errors.ts";
import { updateContainer } from "../lifecycle/control.ts";
import type { Resources } from "../spec/config.ts";
import { parseResources } from "../spec/parse.ts";
import type { DenkiCommand } from "./globals.ts";
import { readAllStdin } from "./stdin.ts";

const str = (description: string, valueName = "VALUE") =>
  ({ type: "string", valueName, description }) as const;

const options = {
  resources: {
    type: "string",
    short: "r",
    valueName: "FILE",
    description: "a JSON linux.resources object to apply (- for stdin)",
  },
  "blkio-weight": str("block I/O weight, 10 to 1000", "N"),
  "cpu-period": str("CPU CFS period in microseconds", "N"),
  "cpu-quota": str("CPU CFS quota in microseconds per period", "N"),
  "cpu-burst": str("CPU CFS burst in microseconds", "N"),
  "cpu-idle": str("1 to make the cgroup SCHED_IDLE", "N"),
  "cpu-rt-period": str("real-time period in microseconds", "N"),
  "cpu-rt-runtime": str("real-time runtime in microseconds", "N"),
  "cpu-share": str("CPU shares (relative weight)", "N"),
  "cpuset-cpus": str("CPUs to run on (0-3, 0,1)", "LIST"),
  "cpuset-mems": str("memory nodes to use (0-3, 0,1)", "LIST"),
  "kernel-memory": str("kernel memory limit (v1; accepts 512m, 1g)", "BYTES"),
  "kernel-memory-tcp": str("kernel TCP buffer limit (v1)", "BYTES"),
  memory: str("memory limit (accepts 512m, 1g; -1 for none)", "BYTES"),
  "memory-reservation": str("memory soft limit", "BYTES"),
  "memory-swap": str("memory plus swap limit (-1 for unlimited swap)", "BYTES"),
  "pids-limit": str("maximum number of tasks (0 or -1 for none)", "N"),
  "l3-cache-schema": { ...str("Intel RDT L3 cache schema"), hidden: true },
  "mem-bw-schema": { ...str("Intel RDT memory bandwidth schema"), hidden: true },
} as const satisfies OptionDefs;

const SIZE_UNITS: Record<string, bigint> = {
  "": 1n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
  p: 1n << 50n,
};

/** A size as runc takes it: bytes, or a number with k/m/g/t/p (binary), optional "b"; -1 is none. */
export function parseBytes(flag: string, text: string): number | bigint {
  if (text === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (m === null) {
    throw new DenkiError(`--${flag} ${JSON.stringify(text)}: not a size like 512m or 1g`);
  }
  const [whole, frac = ""] = m[1]!.split(".");
  const unit = SIZE_UNITS[m[2]!.toLowerCase()]!;
  const scale = 10n ** BigInt(frac.length);
  const bytes = (BigInt(whole! + frac) * unit) / scale;
  return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : bytes;
}

/** An integer flag (negative allowed where the field takes -1). */
function parseInt64(flag: string, text: string): number | bigint {
  if (!/^-?\d+$/.test(text)) {
    throw new DenkiError(`--${flag} ${JSON.stringify(text)}: not an integer`);
  }
  const v = BigInt(text);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

type Opts = Partial<Record<Exclude<keyof typeof options, "resources">, string>>;

/** Merges runc's update flags over a resources object. */
export function resourcesFromFlags(base: Resources, o: Opts): Resources {
  const r: Resources = { ...base };
  const memory = { ...r.memory };
  const cpu = { ...r.cpu };
  const int = (k: keyof Opts) => parseInt64(k, o[k]!);
  const bytes = (k: keyof Opts) => parseBytes(k, o[k]!);
  if (o.memory !== undefined) memory.limit = bytes("memory");
  if (o["memory-reservation"] !== undefined) memory.reservation = bytes("memory-reservation");
  if (o["memory-swap"] !== undefined) memory.swap = bytes("memory-swap");
  if (o["kernel-memory"] !== undefined) memory.kernel = bytes("kernel-memory");
  if (o["kernel-memory-tcp"] !== undefined) memory.kernelTCP = bytes("kernel-memory-tcp");
  if (o["cpu-share"] !== undefined) cpu.shares = int("cpu-share");
  if (o["cpu-period"] !== undefined) cpu.period = int("cpu-period");
  if (o["cpu-quota"] !== undefined) cpu.quota = int("cpu-quota");
  if (o["cpu-burst"] !== undefined) cpu.burst = int("cpu-burst");
  if (o["cpu-idle"] !== undefined) cpu.idle = int("cpu-idle");
  if (o["cpu-rt-period"] !== undefined) cpu.realtimePeriod = int("cpu-rt-period");
  if (o["cpu-rt-runtime"] !== undefined) cpu.realtimeRuntime = int("cpu-rt-runtime");
  if (o["cpuset-cpus"] !== undefined) cpu.cpus = o["cpuset-cpus"];
  if (o["cpuset-mems"] !== undefined) cpu.mems = o["cpuset-mems"];
  if (Object.keys(memory).length > 0) r.memory = memory;
  if (Object.keys(cpu).length > 0) r.cpu = cpu;
  if (o["pids-limit"] !== undefined) r.pids = { limit: int("pids-limit") };
  if (o["blkio-weight"] !== undefined) {
    const weight = Number(int("blkio-weight"));
    if (weight < 10 || weight > 1000) {
      throw new DenkiError(`--blkio-weight ${weight}: must be between 10 and 1000`);
    }
    r.blockIO = { ...r.blockIO, weight };
  }
  return r;
}

/** The `update` command. */
export const command: DenkiCommand<typeof options> = {
  args: [{ name: "container-id" }],
  options,
  run({ opts, args, globals }) {
    if (opts["l3-cache-schema"] !== undefined || opts["mem-bw-schema"] !== undefined) {
      throw new DenkiError("Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported");
    }
    let base: Resources = {};
    if (opts.resources !== undefined) {
      const file = opts.resources === "-" ? "standard input" : opts.resources;
      let text: string;
      try {
        text = opts.resources === "-"
          ? new TextDecoder().decode(readAllStdin())
          : Deno.readTextFileSync(opts.resources);
      } catch (err) {
        throw new DenkiError(`cannot read ${file}: ${causeOf(err)}`);
      }
      base = parseResources(text, file);
    }
    const { resources: _, ...flags } = opts;
    const r = resourcesFromFlags(base, flags as Opts);
    if (Object.keys(r).length === 0) {
      throw new DenkiError("update: nothing to change (give --resources or a limit flag)");
    }
    updateContainer(globals.root, args[0]!, r, globals.log);
  },
};
