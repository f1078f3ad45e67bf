import assert from "node:assert/strict";
import { WASI_FUNCTIONS } from "./functions.ts";
import { WasiHost } from "./host.ts";

Deno.test("host: provides exactly the preview1 functions create checks imports against", () => {
  const dir = Deno.makeTempDirSync({ prefix: "denki-host-" });
  try {
    const host = new WasiHost({
      args: ["x"],
      env: [],
      mounts: [{ guest: "/", host: dir, readonly: false }],
      preopens: ["/"],
    });
    const fns = host.imports().wasi_snapshot_preview1 as Record<string, unknown>;
    assert.deepEqual(Object.keys(fns).sort(), [...WASI_FUNCTIONS].sort());
    assert.equal(WASI_FUNCTIONS.length, 46);
    for (const name of WASI_FUNCTIONS) assert.equal(typeof fns[name], "function", name);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
