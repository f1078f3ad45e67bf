/** The checks added against hostile configs: NUL bytes, oversized values, device numbers. */
import assert from "node:assert/strict";
import { quote, SpecError } from "../errors.ts";
import { defaultSpec } from "./default.ts";
import { MAX_CONFIG_CHARS, parseSpec } from "./parse.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

function base(): Json {
  return JSON.parse(JSON.stringify(defaultSpec({ rootless: false, uid: 0, gid: 0 })));
}

function errorOf(patch: (c: Json) => void): string {
  const c = base();
  patch(c);
  try {
    parseSpec(JSON.stringify(c));
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${err}`);
    return err.message;
  }
  throw new Error("config was accepted");
}

const P = "invalid config.json: ";

Deno.test("validate: a NUL byte in any string the kernel gets is refused, as runc does", () => {
  const cases: [(c: Json) => void, string][] = [
    [(c) => (c.process.env = ["A=1\0B=2"]), "process.env[0]"],
    [(c) => (c.process.args = ["sh", "-c\0rm"]), "process.args[1]"],
    [(c) => (c.process.cwd = "/\0x"), "process.cwd"],
    [(c) => (c.hostname = "h\0st"), "hostname"],
    [(c) => (c.root.path = "rootfs\0"), "root.path"],
    [(c) => (c.mounts[0].destination = "/proc\0/x"), "mounts[0].destination"],
    [(c) => (c.mounts[0].options = ["nosuid\0"]), "mounts[0].options[0]"],
    [(c) => (c.hooks = { prestart: [{ path: "/bin/true\0" }] }), "hooks.prestart[0].path"],
    [
      (c) => (c.linux.sysctl = { "net.ipv4.ip_forward": "1\0" }),
      'linux.sysctl["net.ipv4.ip_forward"]',
    ],
    [(c) => (c.linux.sysctl = { "net.x\0": "1" }), 'linux.sysctl["net.x\\u0000"]'],
    [(c) => (c.linux.maskedPaths = ["/proc/kcore\0"]), "linux.maskedPaths[0]"],
  ];
  for (const [patch, path] of cases) {
    assert.match(errorOf(patch), new RegExp(`${escape(path)}: must not contain a NUL byte`), path);
  }
  // Annotations only travel as JSON: a NUL there is data, not an error.
  const c = base();
  c.annotations = { "org.example": "a\0b" };
  assert.equal(parseSpec(JSON.stringify(c)).annotations?.["org.example"], "a\0b");
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("validate: a huge value gives a short error line", () => {
  const long = "h".repeat(100_000);
  const msg = errorOf((c) => (c.hostname = long));
  assert.equal(msg, `${P}hostname: must be at most 64 bytes, not 100000`);
  const env = errorOf((c) => (c.process.env = [long]));
  assert.equal(
    env,
    `${P}process.env[0]: must have the form KEY=value, not ${quote(long)}`,
  );
  assert.ok(env.length < 200, `${env.length} characters`);
  assert.match(env, /"h{64}"\.\.\. \(100000 characters\)$/);
  // A key as long is cut in the JSON path too.
  const key = errorOf((c) => (c.linux.sysctl = { [`vm.${long}`]: "1" }));
  assert.ok(key.length < 250, `${key.length} characters`);
  // Thousands of problems: the line names the first 20 and counts the rest.
  const many = errorOf((c) => (c.process.env = Array.from({ length: 5000 }, (_, i) => `bad${i}`)));
  assert.match(
    many,
    /process\.env\[19\]: must have the form KEY=value, not "bad19"; and 4980 more problems$/,
  );
  assert.ok(many.length < 2000);
  // 64-byte names are the kernel's limit, multi-byte characters counted as bytes.
  assert.doesNotThrow(() => parseSpec(JSON.stringify({ ...base(), hostname: "a".repeat(64) })));
  assert.equal(
    errorOf((c) => (c.domainname = "é".repeat(33))),
    `${P}domainname: must be at most 64 bytes, not 66`,
  );
});

Deno.test("validate: device numbers the kernel cannot hold are refused, not wrapped", () => {
  const dev = (major: number | string, minor: number | string) =>
  (
    c: Json,
  ) => (c.linux.devices = [{ type: "c", path: "/dev/x", major, minor }]);
  // 2^32+1 once became 1 (4294967297:1 was /dev/mem).
  assert.equal(
    errorOf(dev(2 ** 32 + 1, 1)),
    `${P}linux.devices[0].major: must be from 0 to 4095, not 4294967297`,
  );
  assert.equal(
    errorOf(dev(4096, 1)),
    `${P}linux.devices[0].major: must be from 0 to 4095, not 4096`,
  );
  assert.equal(
    errorOf(dev(1, 2 ** 20)),
    `${P}linux.devices[0].minor: must be from 0 to 1048575, not 1048576`,
  );
  assert.equal(errorOf(dev(-1, 3)), `${P}linux.devices[0].major: must be from 0 to 4095, not -1`);
  // Beyond 2^53 the number stays exact (a bigint) and is refused all the same.
  const big = base();
  big.linux.devices = [{ type: "c", path: "/dev/x", major: 0, minor: 1 }];
  const text = JSON.stringify(big).replace('"major":0', '"major":18446744073709551617');
  assert.throws(() => parseSpec(text), { name: "SpecError" });
  const ok = base();
  ok.linux.devices = [{ type: "c", path: "/dev/x", major: 4095, minor: 1048575 }];
  assert.doesNotThrow(() => parseSpec(JSON.stringify(ok)));
});

Deno.test("validate: a config.json over 64 Mi characters is refused before it is parsed", () => {
  const c = base();
  c.annotations = { big: "x".repeat(MAX_CONFIG_CHARS) };
  const text = JSON.stringify(c);
  const t0 = performance.now();
  assert.throws(() => parseSpec(text), {
    message:
      `${P}the file has ${text.length} characters, more than the 67108864 (64 Mi) denki accepts`,
  });
  assert.ok(performance.now() - t0 < 1000);
  c.annotations = { big: "x".repeat(MAX_CONFIG_CHARS - 20_000) };
  assert.equal(parseSpec(JSON.stringify(c)).annotations?.big?.length, MAX_CONFIG_CHARS - 20_000);
});
