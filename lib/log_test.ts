import assert from "node:assert/strict";
import { formatRecord, Logger } from "./log.ts";

const T = new Date("2026-11-28T01:02:03.450Z");

Deno.test("formatRecord: json lines carry level, msg and time", () => {
  const line = formatRecord("json", "error", 'container "x" does not exist', T);
  assert.equal(
    line,
    '{"level":"error","msg":"container \\"x\\" does not exist","time":"2026-11-28T01:02:03Z"}\n',
  );
  assert.deepEqual(Object.keys(JSON.parse(line)), ["level", "msg", "time"]);
});

Deno.test("formatRecord: text lines are logrus style", () => {
  assert.equal(
    formatRecord("text", "warning", 'a "b"', new Date("2026-11-28T01:02:03.000Z")),
    'time="2026-11-28T01:02:03Z" level=warning msg="a \\"b\\""\n',
  );
});

Deno.test("Logger: records go to the log file, debug only when asked", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/log.json`;
    const quiet = new Logger({ file, format: "json", debug: false, now: () => T });
    quiet.debug("hidden");
    quiet.info("one");
    quiet.warn("two");
    quiet.close();
    const loud = new Logger({ file, format: "json", debug: true, now: () => T });
    loud.debug("three");
    loud.close();
    const lines = Deno.readTextFileSync(file).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.level, l.msg]), [
      ["info", "one"],
      ["warning", "two"],
      ["debug", "three"],
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
