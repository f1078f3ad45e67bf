import assert from "node:assert/strict";
import { SpecError } from "../errors.ts";
import { defaultSpec } from "./default.ts";
import { parseSpec } from "./parse.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** runc's default container, as plain JSON to patch. */
function base(): Json {
  return JSON.parse(JSON.stringify(defaultSpec({ rootless: false, uid: 0, gid: 0 })));
}

function errorOf(config: Json | string): string {
  const text = typeof config === "string" ? config : JSON.stringify(config);
  try {
    parseSpec(text);
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${err}`);
    return err.message;
  }
  throw new Error("config was accepted");
}

const P = "invalid config.json: ";

/** [name, patch, exact message]: every case is one bad input. */
const INVALID: [string, (c: Json) => Json | void, string][] = [
  [
    "not JSON",
    () => "{",
    `${P}not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`,
  ],
  ["empty file", () => "  \n", `${P}not valid JSON: the file is empty`],
  ["top level array", () => "[]", `${P}must be an object, not an array`],
  ["top level null", () => "null", `${P}must be an object, not null`],
  ["missing ociVersion", (c) => void delete c.ociVersion, `${P}ociVersion: is required`],
  [
    "ociVersion not a string",
    (c) => void (c.ociVersion = 1),
    `${P}ociVersion: must be a string, not the number 1`,
  ],
  [
    "ociVersion not semver",
    (c) => void (c.ociVersion = "1.0"),
    `${P}ociVersion: "1.0" is not a SemVer version like "1.2.0"`,
  ],
  [
    "ociVersion 2.0.0",
    (c) => void (c.ociVersion = "2.0.0"),
    `${P}ociVersion: "2.0.0" is not supported (denki accepts 1.0.x to 1.3.x)`,
  ],
  [
    "ociVersion 1.4.0",
    (c) => void (c.ociVersion = "1.4.0"),
    `${P}ociVersion: "1.4.0" is not supported (denki accepts 1.0.x to 1.3.x)`,
  ],
  [
    "ociVersion 0.5.0-dev",
    (c) => void (c.ociVersion = "0.5.0-dev"),
    `${P}ociVersion: "0.5.0-dev" is not supported (denki accepts 1.0.x to 1.3.x)`,
  ],
  ["missing root", (c) => void delete c.root, `${P}root: is required on Linux`],
  ["root.path missing", (c) => void delete c.root.path, `${P}root.path: is required`],
  ["root.path empty", (c) => void (c.root.path = ""), `${P}root.path: must not be empty`],
  [
    "root.readonly string",
    (c) => void (c.root.readonly = "yes"),
    `${P}root.readonly: must be true or false, not the string "yes"`,
  ],
  [
    "process not an object",
    (c) => void (c.process = "sh"),
    `${P}process: must be an object, not the string "sh"`,
  ],
  ["process.cwd missing", (c) => void delete c.process.cwd, `${P}process.cwd: is required`],
  [
    "process.cwd relative",
    (c) => void (c.process.cwd = "tmp"),
    `${P}process.cwd: must be an absolute path, not "tmp"`,
  ],
  [
    "process.args missing",
    (c) => void delete c.process.args,
    `${P}process.args: must have at least one entry`,
  ],
  [
    "process.args empty",
    (c) => void (c.process.args = []),
    `${P}process.args: must have at least one entry`,
  ],
  [
    "process.args[0] not a string",
    (c) => void (c.process.args = [42]),
    `${P}process.args[0]: must be a string, not the number 42`,
  ],
  [
    "process.args[0] empty",
    (c) => void (c.process.args = [""]),
    `${P}process.args[0]: must not be empty`,
  ],
  [
    "process.env entry without =",
    (c) => void c.process.env.push("JUSTNAME"),
    `${P}process.env[2]: must have the form KEY=value, not "JUSTNAME"`,
  ],
  [
    "process.env not an array",
    (c) => void (c.process.env = { A: "1" }),
    `${P}process.env: must be an array, not an object`,
  ],
  [
    "process.user.uid negative",
    (c) => void (c.process.user.uid = -1),
    `${P}process.user.uid: must be an integer from 0 to 4294967295, not the number -1`,
  ],
  [
    "process.user.gid fractional",
    (c) => void (c.process.user.gid = 1.5),
    `${P}process.user.gid: must be an integer from 0 to 4294967295, not the number 1.5`,
  ],
  [
    "process.user.uid missing",
    (c) => void delete c.process.user.uid,
    `${P}process.user.uid: is required`,
  ],
  [
    "process.user.umask too big",
    (c) => void (c.process.user.umask = 1024),
    `${P}process.user.umask: must be at most 0777 (511), not 1024`,
  ],
  [
    "process.terminal string",
    (c) => void (c.process.terminal = "true"),
    `${P}process.terminal: must be true or false, not the string "true"`,
  ],
  [
    "process.consoleSize without width",
    (c) => void (c.process.consoleSize = { height: 24 }),
    `${P}process.consoleSize.width: is required`,
  ],
  [
    "process.capabilities not strings",
    (c) => void (c.process.capabilities.bounding = [1]),
    `${P}process.capabilities.bounding[0]: must be a string, not the number 1`,
  ],
  [
    "process.rlimits unknown type",
    (c) => void (c.process.rlimits[0].type = "RLIMIT_BOGUS"),
    `${P}process.rlimits[0].type: unknown resource limit "RLIMIT_BOGUS"`,
  ],
  [
    "process.rlimits duplicate",
    (c) => void c.process.rlimits.push({ type: "RLIMIT_NOFILE", soft: 1, hard: 1 }),
    `${P}process.rlimits[1].type: RLIMIT_NOFILE is set more than once`,
  ],
  [
    "process.rlimits soft above hard",
    (c) => void (c.process.rlimits[0].soft = 2048),
    `${P}process.rlimits[0].soft: 2048 is above the hard limit 1024`,
  ],
  [
    "process.rlimits hard missing",
    (c) => void delete c.process.rlimits[0].hard,
    `${P}process.rlimits[0].hard: is required`,
  ],
  [
    "process.oomScoreAdj out of range",
    (c) => void (c.process.oomScoreAdj = 1001),
    `${P}process.oomScoreAdj: must be from -1000 to 1000, not 1001`,
  ],
  [
    "process.ioPriority bad class",
    (c) => void (c.process.ioPriority = { class: "IOPRIO_CLASS_NONE", priority: 1 }),
    `${P}process.ioPriority.class: must be one of "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", not the string "IOPRIO_CLASS_NONE"`,
  ],
  [
    "process.ioPriority priority 8",
    (c) => void (c.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 8 }),
    `${P}process.ioPriority.priority: must be from 0 to 7, not 8`,
  ],
  [
    "process.scheduler bad policy",
    (c) => void (c.process.scheduler = { policy: "SCHED_FAST" }),
    `${P}process.scheduler.policy: must be one of "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE", not the string "SCHED_FAST"`,
  ],
  [
    "process.scheduler nice 20",
    (c) => void (c.process.scheduler = { policy: "SCHED_OTHER", nice: 20 }),
    `${P}process.scheduler.nice: must be from -20 to 19, not 20`,
  ],
  [
    "process.execCPUAffinity bad list",
    (c) => void (c.process.execCPUAffinity = { final: "0-a" }),
    `${P}process.execCPUAffinity.final: must be a CPU list like "0-3,7", not "0-a"`,
  ],
  [
    "mounts not an array",
    (c) => void (c.mounts = {}),
    `${P}mounts: must be an array, not an object`,
  ],
  [
    "mount destination missing",
    (c) => void delete c.mounts[3].destination,
    `${P}mounts[3].destination: is required`,
  ],
  [
    "mount destination relative before 1.2",
    (c) => void ((c.ociVersion = "1.1.0"), (c.mounts[0].destination = "proc")),
    `${P}mounts[0].destination: must be an absolute path, not "proc"`,
  ],
  [
    "mount destination empty",
    (c) => void (c.mounts[1].destination = ""),
    `${P}mounts[1].destination: must not be empty`,
  ],
  [
    "mount options not strings",
    (c) => void (c.mounts[1].options = ["ro", true]),
    `${P}mounts[1].options[1]: must be a string, not true`,
  ],
  [
    "mount uidMappings without gidMappings",
    (c) => void (c.mounts[0].uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]),
    `${P}mounts[0]: uidMappings and gidMappings must be given together`,
  ],
  [
    "mount idmap without mappings",
    (c) => void (c.mounts[0].options = ["idmap"]),
    `${P}mounts[0].options: idmap needs uidMappings/gidMappings or a user namespace`,
  ],
  [
    "hook path relative",
    (c) => void (c.hooks = { prestart: [{ path: "hook.sh" }] }),
    `${P}hooks.prestart[0].path: must be an absolute path, not "hook.sh"`,
  ],
  [
    "hook timeout zero",
    (c) => void (c.hooks = { poststop: [{ path: "/bin/true", timeout: 0 }] }),
    `${P}hooks.poststop[0].timeout: must be positive, not 0`,
  ],
  [
    "hook without path",
    (c) => void (c.hooks = { createRuntime: [{ args: ["x"] }] }),
    `${P}hooks.createRuntime[0].path: is required`,
  ],
  [
    "annotations value not a string",
    (c) => void (c.annotations = { "a.b": 1 }),
    `${P}annotations["a.b"]: must be a string, not the number 1`,
  ],
  [
    "annotations empty key",
    (c) => void (c.annotations = { "": "x" }),
    `${P}annotations[""]: keys must not be empty`,
  ],
  [
    "unknown namespace type",
    (c) => void c.linux.namespaces.push({ type: "net" }),
    `${P}linux.namespaces[6].type: must be one of "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", not the string "net"`,
  ],
  [
    "duplicate namespace",
    (c) => void c.linux.namespaces.push({ type: "pid" }),
    `${P}linux.namespaces[6].type: namespace "pid" is listed more than once`,
  ],
  [
    "namespace path relative",
    (c) => void (c.linux.namespaces[1].path = "proc/1/ns/net"),
    `${P}linux.namespaces[1].path: must be an absolute path, not "proc/1/ns/net"`,
  ],
  [
    "uidMappings without user namespace",
    (c) =>
      void ((c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]),
        (c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }])),
    `${P}linux.uidMappings: needs a user namespace in linux.namespaces; linux.gidMappings: needs a user namespace in linux.namespaces`,
  ],
  [
    "user namespace without mappings",
    (c) => void c.linux.namespaces.push({ type: "user" }),
    `${P}linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings`,
  ],
  [
    "id mapping of size 0",
    (c) =>
      void (c.linux.namespaces.push({ type: "user" }),
        (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 0 }]),
        (c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }])),
    `${P}linux.uidMappings[0].size: must not be 0`,
  ],
  [
    "timeOffsets without time namespace",
    (c) => void (c.linux.timeOffsets = { monotonic: { secs: 10 } }),
    `${P}linux.timeOffsets: needs a new time namespace in linux.namespaces`,
  ],
  [
    "timeOffsets bad clock",
    (c) =>
      void (c.linux.namespaces.push({ type: "time" }),
        (c.linux.timeOffsets = { realtime: { secs: 1 } })),
    `${P}linux.timeOffsets["realtime"]: only "monotonic" and "boottime" clocks can be offset`,
  ],
  [
    "hostname without uts namespace",
    (c) => void (c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== "uts")),
    `${P}hostname: needs a uts namespace in linux.namespaces`,
  ],
  [
    "hostname not a string",
    (c) => void (c.hostname = 7),
    `${P}hostname: must be a string, not the number 7`,
  ],
  [
    "host sysctl",
    (c) => void (c.linux.sysctl = { "vm.swappiness": "10" }),
    `${P}linux.sysctl["vm.swappiness"]: is not namespaced: it would change the host`,
  ],
  [
    "net sysctl without network namespace",
    (c) =>
      void ((c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== "network")),
        (c.linux.sysctl = { "net.ipv4.ip_forward": "1" })),
    `${P}linux.sysctl["net.ipv4.ip_forward"]: needs a network namespace in linux.namespaces`,
  ],
  [
    "sysctl value not a string",
    (c) => void (c.linux.sysctl = { "kernel.shmmax": 5 }),
    `${P}linux.sysctl["kernel.shmmax"]: must be a string, not the number 5`,
  ],
  [
    "device bad type",
    (c) => void (c.linux.devices = [{ type: "x", path: "/dev/x", major: 1, minor: 1 }]),
    `${P}linux.devices[0].type: must be one of "c", "b", "u", "p", not the string "x"`,
  ],
  [
    "device without major",
    (c) => void (c.linux.devices = [{ type: "c", path: "/dev/fuse", minor: 229 }]),
    `${P}linux.devices[0]: a "c" device needs major and minor numbers`,
  ],
  [
    "device path relative",
    (c) => void (c.linux.devices = [{ type: "p", path: "fifo" }]),
    `${P}linux.devices[0].path: must be an absolute path, not "fifo"`,
  ],
  [
    "device rule bad access",
    (c) => void (c.linux.resources.devices[0].access = "rwx"),
    `${P}linux.resources.devices[0].access: must be made of "r", "w" and "m", not "rwx"`,
  ],
  [
    "device rule without allow",
    (c) => void delete c.linux.resources.devices[0].allow,
    `${P}linux.resources.devices[0].allow: is required`,
  ],
  [
    "memory limit not an integer",
    (c) => void (c.linux.resources.memory = { limit: "1G" }),
    `${P}linux.resources.memory.limit: must be an integer from -9223372036854775808 to 9223372036854775807, not the string "1G"`,
  ],
  [
    "memory limit beyond int64",
    (c) =>
      `${JSON.stringify(c).slice(0, -2)},"resources":{"memory":{"limit":9223372036854775808}}}}`
        .replace('"resources":{"devices":[{"allow":false,"access":"rwm"}]},', ""),
    `${P}linux.resources.memory.limit: must be an integer from -9223372036854775808 to 9223372036854775807, not the number 9223372036854775808`,
  ],
  [
    "swappiness above 100",
    (c) => void (c.linux.resources.memory = { swappiness: 101 }),
    `${P}linux.resources.memory.swappiness: must be from 0 to 100, not 101`,
  ],
  [
    "cpu burst above quota",
    (c) => void (c.linux.resources.cpu = { quota: 1000, burst: 2000 }),
    `${P}linux.resources.cpu.burst: 2000 is above the quota 1000`,
  ],
  [
    "cpus bad list",
    (c) => void (c.linux.resources.cpu = { cpus: "0,,1" }),
    `${P}linux.resources.cpu.cpus: must be a list like "0-3,7", not "0,,1"`,
  ],
  [
    "weightDevice without weights",
    (c) => void (c.linux.resources.blockIO = { weightDevice: [{ major: 8, minor: 0 }] }),
    `${P}linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight`,
  ],
  [
    "blkio weight beyond uint16",
    (c) => void (c.linux.resources.blockIO = { weight: 70000 }),
    `${P}linux.resources.blockIO.weight: must be an integer from 0 to 65535, not the number 70000`,
  ],
  [
    "throttle without rate",
    (c) => void (c.linux.resources.blockIO = { throttleReadBpsDevice: [{ major: 8, minor: 0 }] }),
    `${P}linux.resources.blockIO.throttleReadBpsDevice[0].rate: is required`,
  ],
  [
    "hugepage bad size",
    (c) => void (c.linux.resources.hugepageLimits = [{ pageSize: "2mb", limit: 0 }]),
    `${P}linux.resources.hugepageLimits[0].pageSize: must look like "2MB" or "1GB", not "2mb"`,
  ],
  [
    "rdma without limits",
    (c) => void (c.linux.resources.rdma = { mlx5_0: {} }),
    `${P}linux.resources.rdma["mlx5_0"]: needs hcaHandles or hcaObjects`,
  ],
  [
    "unified value not a string",
    (c) => void (c.linux.resources.unified = { "memory.high": 5 }),
    `${P}linux.resources.unified["memory.high"]: must be a string, not the number 5`,
  ],
  [
    "seccomp without defaultAction",
    (c) => void (c.linux.seccomp = {}),
    `${P}linux.seccomp.defaultAction: is required`,
  ],
  [
    "seccomp bad action",
    (c) =>
      void (c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir"], action: "DENY" }],
      }),
    `${P}linux.seccomp.syscalls[0].action: must be one of "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", not the string "DENY"`,
  ],
  [
    "seccomp bad arch",
    (c) => void (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["x86_64"] }),
    `${P}linux.seccomp.architectures[0]: must be one of "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB", not the string "x86_64"`,
  ],
  [
    "seccomp empty names",
    (c) =>
      void (c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: [], action: "SCMP_ACT_ERRNO" }],
      }),
    `${P}linux.seccomp.syscalls[0].names: must not be empty`,
  ],
  [
    "seccomp errnoRet with KILL",
    (c) =>
      void (c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_KILL", errnoRet: 1 }],
      }),
    `${P}linux.seccomp.syscalls[0].errnoRet: is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_KILL`,
  ],
  [
    "seccomp arg index 6",
    (c) =>
      void (c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{
          names: ["mkdir"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }],
        }],
      }),
    `${P}linux.seccomp.syscalls[0].args[0].index: must be from 0 to 5, not 6`,
  ],
  [
    "seccomp arg bad op",
    (c) =>
      void (c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{
          names: ["mkdir"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 0, value: 0, op: "EQ" }],
        }],
      }),
    `${P}linux.seccomp.syscalls[0].args[0].op: must be one of "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", not the string "EQ"`,
  ],
  [
    "seccomp notify without listener",
    (c) =>
      void (c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
      }),
    `${P}linux.seccomp.listenerPath: is required by SCMP_ACT_NOTIFY`,
  ],
  [
    "seccomp metadata without listener",
    (c) => void (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "x" }),
    `${P}linux.seccomp.listenerMetadata: needs listenerPath`,
  ],
  [
    "rootfsPropagation bad",
    (c) => void (c.linux.rootfsPropagation = "recursive"),
    `${P}linux.rootfsPropagation: must be one of "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable", not the string "recursive"`,
  ],
  [
    "maskedPaths relative",
    (c) => void c.linux.maskedPaths.push("proc/kcore"),
    `${P}linux.maskedPaths[10]: must be an absolute path, not "proc/kcore"`,
  ],
  [
    "readonlyPaths not strings",
    (c) => void (c.linux.readonlyPaths = [null]),
    `${P}linux.readonlyPaths[0]: must be a string, not null`,
  ],
  [
    "personality bad domain",
    (c) => void (c.linux.personality = { domain: "LINUX64" }),
    `${P}linux.personality.domain: must be one of "LINUX", "LINUX32", not the string "LINUX64"`,
  ],
  [
    "memBwSchema without MB:",
    (c) => void (c.linux.intelRdt = { memBwSchema: "L3:0=ff" }),
    `${P}linux.intelRdt.memBwSchema: must start with "MB:" and be one line`,
  ],
  [
    "memoryPolicy BIND without nodes",
    (c) => void (c.linux.memoryPolicy = { mode: "MPOL_BIND" }),
    `${P}linux.memoryPolicy.nodes: is required for MPOL_BIND`,
  ],
  [
    "memoryPolicy exclusive flags",
    (c) =>
      void (c.linux.memoryPolicy = {
        mode: "MPOL_INTERLEAVE",
        nodes: "0-1",
        flags: ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"],
      }),
    `${P}linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other`,
  ],
  [
    "netDevices bad name",
    (c) => void (c.linux.netDevices = { eth0: { name: "a/b" } }),
    `${P}linux.netDevices["eth0"].name: "a/b" is not a valid interface name`,
  ],
  [
    "cgroupsPath not a string",
    (c) => void (c.linux.cgroupsPath = ["a"]),
    `${P}linux.cgroupsPath: must be a string, not an array`,
  ],
  ["linux not an object", (c) => void (c.linux = []), `${P}linux: must be an object, not an array`],
];

Deno.test(`parseSpec: at least 40 invalid configs, each with its exact message`, async (t) => {
  assert.ok(INVALID.length >= 40, `only ${INVALID.length} cases`);
  for (const [name, patch, expected] of INVALID) {
    await t.step(name, () => {
      const c = base();
      c.process.terminal = false;
      const replaced = patch(c);
      assert.equal(errorOf(replaced ?? c), expected);
    });
  }
});

Deno.test("parseSpec: every structural problem is reported at once", () => {
  const c = base();
  c.process.args = [1, 2];
  c.root.path = 3;
  delete c.process.cwd;
  assert.equal(
    errorOf(c),
    `${P}root.path: must be a string, not the number 3; process.cwd: is required; ` +
      "process.args[0]: must be a string, not the number 1; " +
      "process.args[1]: must be a string, not the number 2",
  );
});

Deno.test("parseSpec: every semantic problem is reported at once", () => {
  const c = base();
  c.process.cwd = "relative";
  c.mounts[0].destination = "";
  c.linux.maskedPaths = ["a"];
  const err = errorOf(c);
  assert.equal(
    err,
    `${P}process.cwd: must be an absolute path, not "relative"; ` +
      "mounts[0].destination: must not be empty; " +
      'linux.maskedPaths[0]: must be an absolute path, not "a"',
  );
});

Deno.test("parseSpec: the default config and real-world shapes are accepted", () => {
  const spec = parseSpec(JSON.stringify(base()));
  assert.equal(spec.process?.args?.[0], "sh");
  assert.equal(spec.linux?.namespaces?.length, 6);
  const rootless = parseSpec(JSON.stringify(defaultSpec({ rootless: true, uid: 1000, gid: 1000 })));
  assert.deepEqual(rootless.linux?.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
});

Deno.test("parseSpec: accepted versions 1.0.0 to 1.3.x, with pre-release and build parts", () => {
  for (const v of ["1.0.0", "1.0.2-dev", "1.1.0-rc.2", "1.2.0+dev", "1.2.1", "1.3.0", "1.3.7"]) {
    const c = base();
    c.ociVersion = v;
    assert.equal(parseSpec(JSON.stringify(c)).ociVersion, v);
  }
});

Deno.test("parseSpec: relative mount destinations are accepted from 1.2.0", () => {
  const c = base();
  c.ociVersion = "1.2.0";
  c.mounts[0].destination = "proc";
  assert.equal(parseSpec(JSON.stringify(c)).mounts?.[0]?.destination, "proc");
});

Deno.test("parseSpec: unknown fields are kept, null counts as absent", () => {
  const c = base();
  c.futureField = { x: 1 };
  c.process.someNewThing = true;
  c.hostname = null;
  const spec = parseSpec(JSON.stringify(c)) as Json;
  assert.deepEqual(spec.futureField, { x: 1 });
  assert.equal(spec.process.someNewThing, true);
  assert.equal("hostname" in spec, false);
});

Deno.test("parseSpec: 64-bit integers stay exact", () => {
  const c = base();
  c.linux.seccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{
      names: ["personality"],
      action: "SCMP_ACT_ERRNO",
      args: [{ index: 0, value: 0, op: "SCMP_CMP_MASKED_EQ" }],
    }],
  };
  c.linux.resources.memory = { limit: 0 };
  const text = JSON.stringify(c)
    .replace('"value":0', '"value":18446744073709551615')
    .replace('"limit":0', '"limit":9223372036854775807');
  const spec = parseSpec(text);
  assert.equal(spec.linux?.seccomp?.syscalls?.[0]?.args?.[0]?.value, 18446744073709551615n);
  assert.equal(spec.linux?.resources?.memory?.limit, 9223372036854775807n);
  assert.equal(spec.process?.rlimits?.[0]?.soft, 1024);
});

Deno.test("parseSpec: validate false checks the structure only (the init's re-read)", () => {
  const c = base();
  c.process.cwd = "relative";
  assert.equal(
    parseSpec(JSON.stringify(c), "config.json", { validate: false }).process?.cwd,
    "relative",
  );
  c.process.args = [1];
  assert.throws(() => parseSpec(JSON.stringify(c), "config.json", { validate: false }), {
    message: /process.args\[0\]: must be a string/,
  });
});
