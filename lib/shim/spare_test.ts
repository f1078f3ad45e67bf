/**
 * Only what needs no spare daemon: starting real spares (ensureSpare) is covered end to end by
 * tests/shim_test.ts, which also stops them.
 */
import assert from "node:assert/strict";

const SPARE = new URL("./spare.ts", import.meta.url).href;

function hasProgram(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

const MISSING = ["/usr/bin/setsid", "/usr/bin/nice"].filter((p) => !hasProgram(p));

// normalPriority changes the priority of the caller's whole process group, so it runs in a
// process started in a session (and group) of its own, at nice 19 as a spare starts.
Deno.test({
  name: "spare: normalPriority takes a niced process and all its threads back to nice 0" +
    (MISSING.length > 0 ? ` [skipped: ${MISSING.join(", ")} missing]` : ""),
  ignore: MISSING.length > 0,
  async fn() {
    const code = `
import { normalPriority } from ${JSON.stringify(SPARE)};
const nices = () => [...Deno.readDirSync("/proc/self/task")].map((t) => {
  const s = Deno.readTextFileSync("/proc/self/task/" + t.name + "/stat");
  return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[16]);
});
const before = nices();
normalPriority();
normalPriority(); // twice is harmless
console.log(JSON.stringify({ before, after: nices() }));
`;
    const r = await new Deno.Command("/usr/bin/setsid", {
      args: ["-w", "/usr/bin/nice", "-n", "19", Deno.execPath(), "eval", "--no-check", code],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, `normalPriority threw: ${err}`);
    const { before, after } = JSON.parse(new TextDecoder().decode(r.stdout)) as {
      before: number[];
      after: number[];
    };
    assert.ok(before.length > 1, "Deno runs several threads");
    assert.ok(before.every((n) => n === 19), `started at nice 19: ${before}`);
    // Raising priority needs CAP_SYS_NICE; without it normalPriority must still not throw.
    const want = Deno.uid() === 0 ? 0 : 19;
    assert.ok(after.every((n) => n === want), `after: ${after}`);
  },
});
