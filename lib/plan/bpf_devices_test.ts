import assert from "node:assert/strict";
import { accessBits, type DeviceRule, devicesProgram, insn } from "./bpf_devices.ts";
import { type DeviceRequest, runDeviceProgram } from "./testing/bpf_interp.ts";

/** True when the generated program allows the request. */
function allowed(rules: readonly DeviceRule[], req: string): boolean {
  return run(devicesProgram(rules), req) === 1;
}

/** Parses "c 1:3 rw" into a request and runs the program on it. */
function run(prog: Uint8Array, req: string): number {
  const m = /^([cb]) (\d+):(\d+) ([rwm]+)$/.exec(req);
  if (!m) throw new Error(`bad request ${req}`);
  const r: DeviceRequest = {
    type: m[1] as "c" | "b",
    major: Number(m[2]),
    minor: Number(m[3]),
    access: m[4]!,
  };
  return runDeviceProgram(prog, r);
}

/** The documented semantics, written directly: last matching rule wins, default deny. */
function reference(rules: readonly DeviceRule[], req: DeviceRequest): boolean {
  const want = accessBits(req.access);
  const num = (v: number | bigint | undefined, got: number) =>
    v === undefined || v < 0 || BigInt(v) === BigInt(got);
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i]!;
    const type = r.type ?? "a";
    if (type !== "a" && type !== req.type) continue;
    if (!num(r.major, req.major) || !num(r.minor, req.minor)) continue;
    const have = accessBits(r.access ?? "rwm");
    if (r.allow ? (want & ~have) === 0 : (want & have) !== 0) return r.allow;
  }
  return false;
}

const ACCESSES = ["r", "w", "m", "rw", "rm", "wm", "rwm"];

Deno.test("bpf insn: little-endian struct bpf_insn with dst in the low nibble", () => {
  assert.deepEqual([...insn(0x61, 2, 1, 4, 0)], [0x61, 0x12, 4, 0, 0, 0, 0, 0]);
  assert.deepEqual([...insn(0xb7, 0, 0, 0, 1)], [0xb7, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual([...insn(0x45, 4, 0, -2, -8)], [0x45, 4, 0xfe, 0xff, 0xf8, 0xff, 0xff, 0xff]);
  assert.throws(() => insn(0x05, 0, 0, 32768, 0), /exceeds s16/);
  assert.throws(() => insn(0x05, 0, 0, -32769, 0), /exceeds s16/);
  assert.throws(() => insn(0xb7, 11, 0, 0, 0), /register/);
  assert.throws(() => insn(0xb7, 0, 0, 0, 2 ** 32), /32 bits/);
});

Deno.test("bpf devices: access letters", () => {
  assert.equal(accessBits("rwm"), 7);
  assert.equal(accessBits("r"), 2);
  assert.equal(accessBits("w"), 4);
  assert.equal(accessBits("m"), 1);
  assert.equal(accessBits(""), 0);
  for (const bad of ["x", "rwx", "R", " r", "rw m"]) assert.throws(() => accessBits(bad), bad);
});

Deno.test("bpf devices: an empty list denies everything", () => {
  const prog = devicesProgram([]);
  for (const req of ["c 1:3 r", "c 1:3 rwm", "b 8:0 m", "c 0:0 w"]) assert.equal(run(prog, req), 0);
});

Deno.test("bpf devices: allow-all allows everything", () => {
  const rules: DeviceRule[] = [{ allow: true, access: "rwm" }];
  for (const req of ["c 1:3 rwm", "b 8:0 r", "c 4095:1048575 m", "b 0:0 w"]) {
    assert.equal(allowed(rules, req), true, req);
  }
  assert.equal(allowed([{ allow: true }], "b 259:1 rw"), true, "missing access means rwm");
});

Deno.test("bpf devices: runc's default list", () => {
  const rules: DeviceRule[] = [
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
    { allow: true, type: "c", access: "m" },
    { allow: true, type: "b", major: -1, minor: -1, access: "m" },
    { allow: true, type: "c", major: 136, access: "rwm" },
    { allow: true, type: "c", major: 5, minor: 2, access: "rwm" },
  ];
  const prog = devicesProgram(rules);
  const cases: [string, number][] = [
    ["c 1:3 rwm", 1], // /dev/null
    ["c 1:3 w", 1],
    ["c 1:5 r", 0], // /dev/zero is not listed
    ["c 1:5 m", 1], // but any char device may be created
    ["b 8:0 m", 1],
    ["b 8:0 r", 0],
    ["b 8:0 rm", 0],
    ["c 136:0 rw", 1], // pty slaves
    ["c 136:4711 rwm", 1],
    ["c 137:0 r", 0],
    ["c 5:2 rw", 1], // /dev/ptmx
    ["c 5:1 rw", 0],
    ["c 10:200 rw", 0],
  ];
  for (const [req, want] of cases) assert.equal(run(prog, req), want, req);
});

Deno.test("bpf devices: a later deny overrides an earlier allow, and vice versa", () => {
  const allowThenDeny: DeviceRule[] = [
    { allow: true, access: "rwm" },
    { allow: false, type: "c", major: 1, minor: 3, access: "rwm" },
  ];
  assert.equal(allowed(allowThenDeny, "c 1:3 r"), false);
  assert.equal(allowed(allowThenDeny, "c 1:5 r"), true);
  assert.equal(allowed(allowThenDeny, "b 1:3 r"), true, "type c does not cover block devices");
  const denyThenAllow: DeviceRule[] = [
    { allow: false, type: "c", major: 1, minor: 3, access: "rwm" },
    { allow: true, access: "rwm" },
  ];
  assert.equal(allowed(denyThenAllow, "c 1:3 r"), true);
});

Deno.test("bpf devices: an allow rule covers only subsets of its access", () => {
  const rules: DeviceRule[] = [{ allow: true, type: "c", major: 1, minor: 3, access: "r" }];
  assert.equal(allowed(rules, "c 1:3 r"), true);
  assert.equal(allowed(rules, "c 1:3 w"), false);
  assert.equal(allowed(rules, "c 1:3 rw"), false);
  assert.equal(allowed(rules, "c 1:3 m"), false);
  const rw: DeviceRule[] = [{ allow: true, type: "c", major: 1, minor: 3, access: "wr" }];
  assert.equal(allowed(rw, "c 1:3 rw"), true);
  assert.equal(allowed(rw, "c 1:3 rwm"), false);
});

Deno.test("bpf devices: a deny rule matches when the access intersects", () => {
  const rules: DeviceRule[] = [
    { allow: true, access: "rwm" },
    { allow: false, type: "c", major: 1, minor: 3, access: "w" },
  ];
  assert.equal(allowed(rules, "c 1:3 r"), true);
  assert.equal(allowed(rules, "c 1:3 m"), true);
  assert.equal(allowed(rules, "c 1:3 w"), false);
  assert.equal(allowed(rules, "c 1:3 rw"), false, "denying w denies an open for rw");
  assert.equal(allowed(rules, "c 1:3 rwm"), false);
  // An empty access denies nothing.
  assert.equal(allowed([{ allow: true }, { allow: false, access: "" }], "c 1:3 rwm"), true);
});

Deno.test("bpf devices: wildcard majors and minors, type a", () => {
  const anyMinor: DeviceRule[] = [{ allow: true, type: "b", major: 8, access: "r" }];
  assert.equal(allowed(anyMinor, "b 8:0 r"), true);
  assert.equal(allowed(anyMinor, "b 8:17 r"), true);
  assert.equal(allowed(anyMinor, "b 9:0 r"), false);
  assert.equal(allowed(anyMinor, "c 8:0 r"), false);
  const anyMajor: DeviceRule[] = [{ allow: true, type: "c", major: -1, minor: 7n, access: "r" }];
  assert.equal(allowed(anyMajor, "c 1:7 r"), true);
  assert.equal(allowed(anyMajor, "c 99:7 r"), true);
  assert.equal(allowed(anyMajor, "c 99:8 r"), false);
  const typeA: DeviceRule[] = [{ allow: true, type: "a", major: 10n, minor: -1n, access: "rw" }];
  assert.equal(allowed(typeA, "c 10:200 rw"), true);
  assert.equal(allowed(typeA, "b 10:1 r"), true);
  assert.equal(allowed(typeA, "b 11:1 r"), false);
  // No Linux device has a number past 2^31 - 1, so such a rule matches nothing.
  const huge: DeviceRule[] = [{ allow: true }, { allow: false, major: 2 ** 40, access: "rwm" }];
  assert.equal(allowed(huge, "c 0:0 r"), true);
});

Deno.test("bpf devices: 3000 rules still decide correctly", () => {
  const rules: DeviceRule[] = [{ allow: false, access: "rwm" }];
  for (let i = 0; i < 3000; i++) {
    rules.push({ allow: true, type: "c", major: 10 + (i % 7), minor: i, access: "rw" });
  }
  rules.push({ allow: false, type: "c", major: 10, minor: 0, access: "w" });
  const prog = devicesProgram(rules);
  assert.ok(prog.length / 8 > 3000 * 4);
  assert.equal(run(prog, "c 10:0 r"), 1, "the first allow is the last code checked");
  assert.equal(run(prog, "c 10:0 w"), 0, "the last rule denies writes");
  assert.equal(run(prog, "c 12:2 rw"), 1);
  assert.equal(run(prog, "c 13:2999 rw"), 1); // 10 + 2999 % 7
  assert.equal(run(prog, "c 13:2999 m"), 0);
  assert.equal(run(prog, "c 10:2999 r"), 0);
  assert.equal(run(prog, "c 10:3000 r"), 0);
});

Deno.test("bpf devices: random rule lists agree with the reference semantics", () => {
  // Deterministic xorshift so a failure reproduces.
  let seed = 0x9e3779b9;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const types = [undefined, "a", "c", "b"] as const;
  for (let round = 0; round < 300; round++) {
    const rules: DeviceRule[] = [];
    for (let i = rand(8); i > 0; i--) {
      const rule: DeviceRule = { allow: rand(2) === 0 };
      const type = types[rand(4)];
      if (type !== undefined) rule.type = type;
      if (rand(3) > 0) rule.major = rand(4) - 1;
      if (rand(3) > 0) rule.minor = rand(4) - 1;
      if (rand(4) > 0) rule.access = ACCESSES[rand(ACCESSES.length)]!;
      rules.push(rule);
    }
    const prog = devicesProgram(rules);
    for (const type of ["c", "b"] as const) {
      for (let major = 0; major < 3; major++) {
        for (let minor = 0; minor < 3; minor++) {
          for (const access of ACCESSES) {
            const req = { type, major, minor, access };
            assert.equal(
              runDeviceProgram(prog, req) === 1,
              reference(rules, req),
              `${JSON.stringify(rules)} on ${JSON.stringify(req)}`,
            );
          }
        }
      }
    }
  }
});

Deno.test("bpf devices: invalid rules throw naming the rule", () => {
  assert.throws(
    () =>
      devicesProgram([{ allow: false }, {
        allow: true,
        type: "c",
        major: 1,
        minor: 3,
        access: "rwx",
      }]),
    /device rule #1 \(allow c 1:3 "rwx"\): invalid device access "rwx"/,
  );
  assert.throws(
    () => devicesProgram([{ allow: true, type: "p" as "c" }]),
    /device rule #0 .*type "p"/,
  );
  assert.throws(() => devicesProgram([{ allow: true, major: 1.5 }]), /major 1.5 is not an integer/);
});

Deno.test("bpf interpreter: rejects what the verifier would", () => {
  const exit = insn(0x95, 0, 0, 0, 0);
  const cat = (...xs: Uint8Array[]) => {
    const out = new Uint8Array(xs.length * 8);
    xs.forEach((x, i) => out.set(x, i * 8));
    return out;
  };
  const req: DeviceRequest = { type: "c", major: 1, minor: 3, access: "r" };
  const mov0 = insn(0xb7, 0, 0, 0, 0);
  assert.equal(runDeviceProgram(cat(mov0, exit), req), 0);
  assert.throws(() => runDeviceProgram(cat(exit), req), /uninitialised/);
  assert.throws(() => runDeviceProgram(cat(mov0), req), /fell off the end/);
  assert.throws(
    () => runDeviceProgram(cat(insn(0x05, 0, 0, 5, 0), mov0, exit), req),
    /past the end/,
  );
  assert.throws(() => runDeviceProgram(cat(mov0, insn(0x05, 0, 0, -2, 0), exit), req), /backward/);
  assert.throws(() => runDeviceProgram(cat(insn(0x18, 0, 0, 0, 0), exit), req), /unsupported/);
  assert.throws(() => runDeviceProgram(cat(insn(0xb7, 0, 0, 0, 2), exit), req), /not 0 or 1/);
  assert.throws(() => runDeviceProgram(cat(insn(0x61, 0, 1, 12, 0), exit), req), /offset 12/);
  assert.throws(() => runDeviceProgram(cat(insn(0x61, 0, 2, 0, 0), exit), req), /not the context/);
  assert.throws(() => runDeviceProgram(cat(insn(0xbf, 0, 1, 0, 0), exit), req), /context pointer/);
  assert.throws(() => runDeviceProgram(cat(insn(0xb7, 0, 1, 0, 0), exit), req), /reserved/);
  assert.throws(() => runDeviceProgram(new Uint8Array(12), req), /multiple of 8/);
});
