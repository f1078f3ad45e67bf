import assert from "node:assert/strict";
import { hostedBlocker } from "./hosted.ts";
import type { Spec } from "../../lib/spec/config.ts";

const CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL"];

/** A config as ctr makes one: root, the default capabilities, CPU shares, device rules. */
function ctrLike(): Spec {
  return {
    ociVersion: "1.0.2",
    process: {
      args: ["/hello.wasm"],
      cwd: "/",
      user: { uid: 0, gid: 0 },
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
    },
    root: { path: "rootfs" },
    linux: { resources: { devices: [{ allow: false, access: "rwm" }], cpu: { shares: 1024 } } },
  };
}

Deno.test("hosted Wasm: ctr's config runs in the shim", () => {
  assert.equal(hostedBlocker(ctrLike()), undefined);
  const rootGroup = ctrLike();
  rootGroup.process!.user = { uid: 0, gid: 0, additionalGids: [0] }; // what ctr adds for root
  assert.equal(hostedBlocker(rootGroup), undefined);
});

Deno.test("hosted Wasm: what the shim cannot be for a guest takes the init route", () => {
  const cases: [string, (s: Spec) => void, RegExp][] = [
    ["a terminal", (s) => (s.process!.terminal = true), /terminal/],
    ["a user", (s) => (s.process!.user = { uid: 1000, gid: 1000 }), /not root/],
    ["extra groups", (s) => (s.process!.user = { uid: 0, gid: 0, additionalGids: [0, 5] }), /root/],
    [
      "no CAP_DAC_OVERRIDE",
      (s) => (s.process!.capabilities!.effective = ["CAP_CHOWN", "CAP_FOWNER"]),
      /CAP_DAC_OVERRIDE/,
    ],
    [
      "RLIMIT_CPU",
      (s) => s.process!.rlimits!.push({ type: "RLIMIT_CPU", hard: 5, soft: 5 }),
      /RLIMIT_CPU/,
    ],
    ["a memory limit", (s) => (s.linux!.resources!.memory = { limit: 1 << 26 }), /memory/],
    ["a CPU quota", (s) => (s.linux!.resources!.cpu!.quota = 50000), /cpu\.quota/],
    ["a pids limit", (s) => (s.linux!.resources!.pids = { limit: 5 }), /pids/],
  ];
  for (const [what, change, why] of cases) {
    const spec = ctrLike();
    change(spec);
    assert.match(hostedBlocker(spec) ?? "(runs in the shim)", why, what);
  }
});
