/**
 * The CRI schemas against byte encodings written by hand from api.proto's field numbers (so a
 * wrong number or type fails here, not in a live test), plus structural checks of every schema.
 */
import assert from "node:assert/strict";
import { decode, encode, type Schema } from "../../../lib/shim/proto/wire.ts";
import * as m from "./messages.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
const bytesOf = (...parts: (number | string)[]) =>
  new Uint8Array(
    parts.flatMap((p) => typeof p === "number" ? [p] : [...new TextEncoder().encode(p)]),
  );

Deno.test("cri messages: VersionRequest is field 1, a string", () => {
  assert.equal(hex(encode(m.VersionRequest, { version: "v1" })), "0a 02 76 31");
});

Deno.test("cri messages: RunPodSandboxRequest nests metadata, linux namespace options and the handler", () => {
  const got = encode(m.RunPodSandboxRequest, {
    config: {
      metadata: { name: "p", attempt: 1 },
      // pid POD is 0, the default: not written.
      linux: {
        securityContext: {
          namespaceOptions: { network: m.NamespaceMode.NODE, pid: m.NamespaceMode.POD },
        },
      },
      labels: { app: "x" },
    },
    runtimeHandler: "denki",
  });
  const want = bytesOf(
    0x0a, // RunPodSandboxRequest.config = 1
    0x19,
    ...[0x0a, 0x05, 0x0a, 0x01, "p", 0x20, 0x01], // metadata = 1 {name = 1, attempt = 4}
    ...[0x32, 0x08, 0x0a, 0x03, "app", 0x12, 0x01, "x"], // labels = 6 {key = 1, value = 2}
    // linux = 8 {security_context = 2 {namespace_options = 1 {network = 1: NODE}}}
    ...[0x42, 0x06, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x02],
    ...[0x12, 0x05, "denki"], // runtime_handler = 2
  );
  assert.equal(hex(got), hex(want));
});

Deno.test("cri messages: int64 resources, a negative one as ten bytes", () => {
  const got = encode(m.LinuxContainerResources, {
    memoryLimitInBytes: 64n << 20n,
    oomScoreAdj: -2n,
    cpusetCpus: "0",
  });
  assert.equal(
    hex(got),
    hex(bytesOf(
      ...[0x20, 0x80, 0x80, 0x80, 0x20], // memory_limit_in_bytes = 4: 2^26
      ...[0x28, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // oom_score_adj = 5
      ...[0x32, 0x01, "0"], // cpuset_cpus = 6
    )),
  );
  // Plain numbers are accepted for int64 too; a fraction is refused.
  const shares = encode(m.LinuxContainerResources, { cpuShares: 512 as unknown as bigint });
  assert.equal(hex(shares), "18 80 04"); // cpu_shares = 3
  assert.throws(
    () => encode(m.LinuxContainerResources, { cpuShares: 1.5 as unknown as bigint }),
    /LinuxContainerResources\.cpuShares/,
  );
});

Deno.test("cri messages: ContainerStatusResponse decodes enums, int64 times, exit codes and skips unknown fields", () => {
  const status = bytesOf(
    ...[0x0a, 0x02, "c1"], // id = 1
    ...[0x18, 0x02], // state = 3: CONTAINER_EXITED
    ...[0x30, 0x95, 0x9a, 0x97, 0xec, 0xe3, 0x9f, 0xe7, 0xcb, 0x17], // finished_at = 6
    ...[0x38, 0x89, 0x01], // exit_code = 7: 137
    ...[0x52, 0x05, "Error"], // reason = 10
    ...[0x9a, 0x06, 0x01, "?"], // field 99 (unknown): skipped
    ...[0x7a, 0x03, "l/x"], // log_path = 15
  );
  const res = decode(m.ContainerStatusResponse, bytesOf(0x0a, status.length, ...status));
  const s = res.status!;
  assert.equal(s.id, "c1");
  assert.equal(s.state, m.ContainerState.CONTAINER_EXITED);
  assert.equal(s.finishedAt, 1_700_000_000_123_456_789n);
  assert.equal(s.startedAt, 0n);
  assert.equal(s.exitCode, 137);
  assert.equal(s.reason, "Error");
  assert.equal(s.logPath, "l/x");
  assert.equal(s.metadata, undefined);
  assert.deepEqual(res.info, {});
  // A negative int32 exit code (sign-extended on the wire) comes back negative.
  const neg = encode(m.ContainerStatus, { exitCode: -1 });
  assert.equal(neg.length, 11);
  assert.equal(decode(m.ContainerStatus, neg).exitCode, -1);
});

Deno.test("cri messages: ExecSyncResponse's bytes are copies, not views of the input", () => {
  const wire = bytesOf(0x0a, 0x03, "out", 0x12, 0x01, "e", 0x18, 0x07);
  const r = decode(m.ExecSyncResponse, wire);
  wire[2] = 0x21;
  assert.equal(new TextDecoder().decode(r.stdout), "out");
  assert.equal(new TextDecoder().decode(r.stderr), "e");
  assert.equal(r.exitCode, 7);
});

Deno.test("cri messages: a full ContainerConfig round-trips", () => {
  const config: m.ContainerConfig = {
    metadata: { name: "main", attempt: 2 },
    image: {
      image: "docker.io/library/x:1",
      annotations: { "module.wasm.image/variant": "compat" },
    },
    command: ["sh", "-c"],
    args: ["echo hi"],
    workingDir: "/w",
    envs: [{ key: "A", value: "1" }, { key: "B", value: "" }],
    mounts: [{
      containerPath: "/c",
      hostPath: "/h",
      readonly: true,
      selinuxRelabel: false,
      propagation: m.MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
    }],
    devices: [],
    labels: { a: "b" },
    annotations: { "io.kubernetes.cri.x": "y" },
    logPath: "main.log",
    stdin: false,
    stdinOnce: false,
    tty: true,
    linux: {
      resources: {
        cpuPeriod: 100_000n,
        cpuQuota: 50_000n,
        cpuShares: 2n,
        memoryLimitInBytes: 1n << 40n,
        oomScoreAdj: -999n,
        cpusetCpus: "0-1",
        cpusetMems: "0",
        hugepageLimits: [{ pageSize: "2MB", limit: 1n << 63n }],
        unified: { "memory.high": "max" },
        memorySwapLimitInBytes: -1n,
      },
      securityContext: {
        capabilities: {
          addCapabilities: ["NET_ADMIN"],
          dropCapabilities: ["ALL"],
          addAmbientCapabilities: [],
        },
        privileged: false,
        namespaceOptions: {
          network: m.NamespaceMode.POD,
          pid: m.NamespaceMode.CONTAINER,
          ipc: m.NamespaceMode.NODE,
          targetId: "t",
          usernsOptions: {
            mode: m.NamespaceMode.POD,
            uids: [{ hostId: 100000, containerId: 0, length: 65536 }],
            gids: [{ hostId: 4294967295, containerId: 1, length: 1 }],
          },
        },
        runAsUser: { value: 1000n },
        runAsGroup: { value: 0n },
        runAsUsername: "",
        readonlyRootfs: true,
        supplementalGroups: [1n, 65534n, 4294967296n],
        noNewPrivs: true,
        maskedPaths: ["/proc/kcore"],
        readonlyPaths: [],
        seccomp: { profileType: m.ProfileType.Localhost, localhostRef: "/p.json" },
      },
    },
  };
  assert.deepEqual(decode(m.ContainerConfig, encode(m.ContainerConfig, config)), config);
});

Deno.test("cri messages: every schema has unique field numbers and names", () => {
  const schemas = (Object.values(m) as unknown[]).filter((v): v is Schema<unknown> =>
    typeof v === "object" && v !== null && "fields" in v && "name" in v
  );
  assert.ok(schemas.length > 40, `only ${schemas.length} schemas found`);
  for (const s of schemas) {
    assert.match(s.name, /^runtime\.v1\.[A-Z]\w+$/);
    const nos = s.fields.map((f) => f.no);
    const names = s.fields.map((f) => f.name);
    assert.equal(new Set(nos).size, nos.length, `${s.name}: a field number twice`);
    assert.equal(new Set(names).size, names.length, `${s.name}: a field name twice`);
    for (const n of names) assert.match(n, /^[a-z][A-Za-z]*$/, `${s.name}.${n}`);
  }
});
