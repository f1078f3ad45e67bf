import assert from "node:assert/strict";
import { parseProcStat, readProcessInfo } from "./proc.ts";

Deno.test("parseProcStat: fields after a command name with spaces and parentheses", () => {
  const rest = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21";
  assert.deepEqual(parseProcStat(`77 (a) b (c)) ${rest}`), { state: "S", startTime: 424242 });
  assert.equal(parseProcStat("77 (x"), undefined);
  assert.equal(parseProcStat("77 (x) S 1"), undefined);
});

Deno.test("readProcessInfo: this process is alive, a fake proc root is read", () => {
  const me = readProcessInfo(Deno.pid);
  assert.ok(me !== undefined && me.startTime > 0);
  assert.equal(readProcessInfo(Deno.pid, "/nonexistent"), undefined);
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/5`);
    Deno.writeTextFileSync(`${dir}/5/stat`, "5 (sh) Z 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99");
    assert.deepEqual(readProcessInfo(5, dir), { state: "Z", startTime: 99 });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
