import assert from "node:assert/strict";
import { parseShimFlags } from "./main.ts";

const MAIN = new URL("./main.ts", import.meta.url).href;

Deno.test("shim flags: containerd's start argument list", () => {
  const f = parseShimFlags([
    "-namespace",
    "k8s.io",
    "-address",
    "/run/containerd/containerd.sock",
    "-publish-binary",
    "/usr/bin/containerd",
    "-id",
    "c1",
    "start",
  ]);
  assert.deepEqual(f, {
    namespace: "k8s.io",
    id: "c1",
    address: "/run/containerd/containerd.sock",
    publishBinary: "/usr/bin/containerd",
    bundle: "",
    debug: false,
    socket: "",
    action: "start",
  });
});

Deno.test("shim flags: containerd's delete argument list", () => {
  const f = parseShimFlags([
    "-namespace",
    "default",
    "-address",
    "/run/containerd/containerd.sock",
    "-publish-binary",
    "/usr/bin/containerd",
    "-id",
    "c2",
    "-bundle",
    "/run/containerd/io.containerd.runtime.v2.task/default/c2",
    "delete",
  ]);
  assert.equal(f.namespace, "default");
  assert.equal(f.id, "c2");
  assert.equal(f.bundle, "/run/containerd/io.containerd.runtime.v2.task/default/c2");
  assert.equal(f.action, "delete");
  assert.equal(f.debug, false);
});

Deno.test("shim flags: Go's forms (-x v, --x=v, -x=v, bare and valued booleans)", () => {
  assert.equal(parseShimFlags(["-namespace", "ns"]).namespace, "ns");
  assert.equal(parseShimFlags(["--namespace=ns"]).namespace, "ns");
  assert.equal(parseShimFlags(["-namespace=ns"]).namespace, "ns");
  assert.equal(parseShimFlags(["--namespace", "ns"]).namespace, "ns");
  // A value may look like a flag; Go takes the next argument whatever it is.
  assert.equal(parseShimFlags(["-id", "-x"]).id, "-x");
  // "=" splits at the first one only.
  assert.equal(parseShimFlags(["-address=/a=b"]).address, "/a=b");
  assert.equal(parseShimFlags(["-namespace="]).namespace, "");
  assert.equal(parseShimFlags(["-debug"]).debug, true);
  assert.equal(parseShimFlags(["--debug"]).debug, true);
  assert.equal(parseShimFlags(["-debug=true"]).debug, true);
  assert.equal(parseShimFlags(["-debug=false"]).debug, false);
  assert.equal(parseShimFlags(["--debug=false", "start"]).action, "start");
  // A bare boolean never takes the next argument: "false" is the action, as in Go.
  const f = parseShimFlags(["-debug", "false"]);
  assert.equal(f.debug, true);
  assert.equal(f.action, "false");
  // The daemon's own socket flag, which start passes it.
  assert.equal(parseShimFlags(["-socket", "/run/x", "serve"]).socket, "/run/x");
  // Flags containerd or older shims pass that the shim ignores.
  assert.equal(parseShimFlags(["-systemd-cgroup", "-namespace", "n", "start"]).namespace, "n");
});

Deno.test("shim flags: parsing stops at the first non-flag and after --", () => {
  const f = parseShimFlags(["-namespace", "n", "start", "-id", "x", "-bogus"]);
  assert.equal(f.action, "start");
  assert.equal(f.id, "");
  const g = parseShimFlags(["-namespace", "n", "--", "-delete"]);
  assert.equal(g.action, "-delete");
  assert.equal(parseShimFlags(["-namespace", "n"]).action, "");
  assert.equal(parseShimFlags(["-", "start"]).action, "-");
});

Deno.test("shim flags: an unknown flag and a missing value are one-line errors", () => {
  assert.throws(() => parseShimFlags(["-bogus", "start"]), {
    name: "DenkiError",
    message: "flag provided but not defined: -bogus",
  });
  assert.throws(() => parseShimFlags(["--bogus=1"]), {
    message: "flag provided but not defined: -bogus",
  });
  assert.throws(() => parseShimFlags(["-namespace", "n", "-id"]), {
    name: "DenkiError",
    message: "flag needs an argument: -id",
  });
  assert.throws(() => parseShimFlags(["-bundle"]), { message: "flag needs an argument: -bundle" });
});

// Go's flag package reads a boolean's value with strconv.ParseBool, which also takes 1, t, T,
// TRUE and True (containerd itself only ever passes a bare -debug).
Deno.test({
  name: "shim flags: -debug=1 and -debug=TRUE are true, as Go's ParseBool reads them",
  fn() {
    assert.equal(parseShimFlags(["-debug=1"]).debug, true);
    assert.equal(parseShimFlags(["-debug=TRUE"]).debug, true);
    assert.equal(parseShimFlags(["-debug=t"]).debug, true);
  },
});

/** Runs shimMain(args) in a fresh Deno (it prints); its status, stdout and stderr. */
async function runShimMain(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const code = `import { shimMain } from ${JSON.stringify(MAIN)};
const status = await shimMain(${JSON.stringify(args)}, () => {
  throw new Error("executors must not be asked for");
});
Deno.exit(status);`;
  const dir = await Deno.makeTempDir({ prefix: "denki-shimmain-" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    // Nothing may be left in the directory it ran in (no address file, no state).
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    const td = new TextDecoder();
    return { code: r.code, out: td.decode(r.stdout), err: td.decode(r.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("shimMain: an empty namespace fails with status 1 and one line on stderr", async () => {
  for (
    const args of [
      ["-id", "c1", "-address", "/nonexistent.sock", "start"],
      ["-namespace", "", "-id", "c1", "delete"],
      ["--namespace=", "serve"],
    ]
  ) {
    const r = await runShimMain(args);
    assert.equal(r.code, 1, JSON.stringify(r));
    assert.equal(r.out, "");
    assert.equal(r.err, "containerd-shim-denki-v2: shim namespace cannot be empty\n");
  }
});

Deno.test("shimMain: an unknown action or flag fails with status 1 and one line", async () => {
  const r = await runShimMain(["-namespace", "ns", "-id", "c1", "frobnicate"]);
  assert.equal(r.code, 1, JSON.stringify(r));
  assert.equal(r.out, "");
  assert.equal(r.err, 'containerd-shim-denki-v2: unknown shim action "frobnicate"\n');
  // A long action is quoted by a short prefix only.
  const long = await runShimMain(["-namespace", "ns", "x".repeat(500)]);
  assert.equal(long.code, 1);
  assert.equal(long.err, `containerd-shim-denki-v2: unknown shim action "${"x".repeat(32)}"\n`);
  const flag = await runShimMain(["-namespace", "ns", "-nope", "start"]);
  assert.equal(flag.code, 1);
  assert.equal(flag.err, "containerd-shim-denki-v2: flag provided but not defined: -nope\n");
});
