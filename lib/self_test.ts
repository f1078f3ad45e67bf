import assert from "node:assert/strict";
import { selfCommand } from "./self.ts";

const MAIN = new URL("../main.ts", import.meta.url).href;

Deno.test("selfCommand: re-runs the same entry with the launcher's flags, never -A", () => {
  const [exe, ...args] = selfCommand(["--version"], MAIN);
  assert.equal(exe, Deno.execPath());
  assert.equal(args[0], "run");
  assert.ok(args.includes("--allow-ffi") && !args.includes("-A") && !args.includes("--allow-all"));
  assert.equal(args.at(-2), new URL(MAIN).pathname);
  assert.equal(args.at(-1), "--version");
  const bundled = new URL("../bin/.bundle/main.js", import.meta.url).href;
  assert.equal(selfCommand([], bundled).at(-1), new URL(bundled).pathname);
});

Deno.test("selfCommand: the command works with an empty environment", () => {
  const [exe, ...args] = selfCommand(["--version"], MAIN);
  const out = new Deno.Command(exe!, { args, clearEnv: true, stdout: "piped" }).outputSync();
  assert.equal(out.code, 0);
  assert.match(new TextDecoder().decode(out.stdout), /^denki version \d+\.\d+\.\d+\n/);
});
