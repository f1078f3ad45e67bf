import assert from "node:assert/strict";
import { checkModule, hasWasmMagic, modulePath, wantsWasm } from "./module.ts";
import type { Spec } from "../../lib/spec/config.ts";

// A minimal valid module: (module (memory (export "memory") 1) (func (export "_start")))
const MINIMAL = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  0x01,
  0x04,
  0x01,
  0x60,
  0x00,
  0x00,
  0x03,
  0x02,
  0x01,
  0x00,
  0x05,
  0x03,
  0x01,
  0x00,
  0x01,
  0x07,
  0x13,
  0x02,
  0x06,
  0x6d,
  0x65,
  0x6d,
  0x6f,
  0x72,
  0x79,
  0x02,
  0x00,
  0x06,
  0x5f,
  0x73,
  0x74,
  0x61,
  0x72,
  0x74,
  0x00,
  0x00,
  0x0a,
  0x04,
  0x01,
  0x02,
  0x00,
  0x0b,
]);

function spec(args: string[], extra: Partial<Spec> = {}): Spec {
  return {
    ociVersion: "1.2.0",
    process: { cwd: "/", args, env: ["PATH=/usr/bin:/bin"], user: { uid: 0, gid: 0 } },
    ...extra,
  } as Spec;
}

Deno.test("module: annotations select Wasm; modules are found in the root, not the host", () => {
  assert.ok(wantsWasm(spec(["x"], { annotations: { "run.oci.handler": "wasm" } })));
  assert.ok(wantsWasm(spec(["x"], { annotations: { "module.wasm.image/variant": "compat" } })));
  assert.ok(!wantsWasm(spec(["x"], { annotations: { "run.oci.handler": "crun" } })));
  const root = Deno.makeTempDirSync({ prefix: "denki-module-" });
  try {
    Deno.mkdirSync(`${root}/bin`);
    Deno.writeFileSync(`${root}/bin/app`, MINIMAL);
    Deno.writeTextFileSync(`${root}/bin/script`, "#!/bin/sh\n");
    // A link to the host's /bin/sh is resolved inside the root, where it does not exist.
    Deno.symlinkSync("/bin/sh", `${root}/bin/sh`);
    assert.equal(modulePath(spec(["app"]), root), `${root}/bin/app`);
    assert.equal(modulePath(spec(["/bin/app"]), root), `${root}/bin/app`);
    assert.equal(modulePath(spec(["sh"]), root), undefined);
    assert.ok(hasWasmMagic(`${root}/bin/app`));
    assert.ok(!hasWasmMagic(`${root}/bin/script`));
    assert.ok(checkModule(`${root}/bin/app`, "app") instanceof WebAssembly.Module);
    assert.throws(() => checkModule(`${root}/bin/script`, "script"), /is not valid/);
    // Under RLIMIT_AS/RLIMIT_DATA the memory gets a maximum; one page is already too much here.
    const capped = checkModule(`${root}/bin/app`, "app", {
      pages: 1,
      from: "RLIMIT_AS",
      bytes: 65536n,
    });
    const memory = new WebAssembly.Instance(capped).exports.memory as WebAssembly.Memory;
    assert.throws(() => memory.grow(1), RangeError);
    assert.throws(
      () => checkModule(`${root}/bin/app`, "app", { pages: 0, from: "RLIMIT_AS", bytes: 32768n }),
      /wasm module "app" needs 64 KiB of memory to start, more than RLIMIT_AS allows \(32 KiB\)/,
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
