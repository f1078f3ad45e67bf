import assert from "node:assert/strict";
import { selfCommand } from "./self.ts";

Deno.test("selfCommand: re-runs denki from source with the launcher's flags", () => {
  const [exe, ...args] = selfCommand(["--version"]);
  assert.equal(exe, Deno.execPath());
  assert.equal(args[0], "run");
  assert.ok(args.includes("--allow-ffi") && !args.includes("-A") && !args.includes("--allow-all"));
  assert.ok(args.at(-2)!.endsWith("/main.ts"));
  assert.equal(args.at(-1), "--version");
});

Deno.test("selfCommand: the command works with an empty environment", () => {
  const [exe, ...args] = selfCommand(["--version"]);
  const out = new Deno.Command(exe!, { args, clearEnv: true, stdout: "piped" }).outputSync();
  assert.equal(out.code, 0);
  assert.match(new TextDecoder().decode(out.stdout), /^denki version \d+\.\d+\.\d+\n/);
});
