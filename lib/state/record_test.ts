import assert from "node:assert/strict";
import { parseRecord, toOciState } from "./record.ts";
import { sampleRecord } from "./testing.ts";

Deno.test("toOciState: runc's field order, annotations only when present", () => {
  const rec = sampleRecord();
  assert.deepEqual(Object.keys(toOciState(rec, "running")), [
    "ociVersion",
    "id",
    "pid",
    "status",
    "bundle",
    "rootfs",
    "created",
    "owner",
  ]);
  const withAnn = toOciState({ ...rec, annotations: { a: "b" } }, "running");
  assert.deepEqual(Object.keys(withAnn).slice(-2), ["annotations", "owner"]);
  assert.deepEqual(withAnn.annotations, { a: "b" });
});

Deno.test("toOciState: a stopped container reports pid 0", () => {
  assert.equal(toOciState(sampleRecord(), "stopped").pid, 0);
  assert.equal(toOciState(sampleRecord(), "running").pid, 4242);
});

Deno.test("parseRecord: round trip keeps unknown fields", () => {
  const rec = { ...sampleRecord(), future: { x: 1 } };
  assert.deepEqual(parseRecord("/f", JSON.stringify(rec)), rec);
});

Deno.test("parseRecord: corrupt files give one line naming the file", () => {
  const bad: [string, string][] = [
    ["", "corrupt state file /r/c1/state.json: it is empty"],
    ['{"id": "c1", "pid"', "corrupt state file /r/c1/state.json: not JSON ("],
    ["[]", "corrupt state file /r/c1/state.json: not a JSON object"],
    [
      JSON.stringify({ ...sampleRecord(), pid: "12" }),
      'corrupt state file /r/c1/state.json: "pid" is missing or not a non-negative integer',
    ],
    [
      JSON.stringify({ ...sampleRecord(), status: "exploded" }),
      'corrupt state file /r/c1/state.json: unknown status "exploded"',
    ],
    [
      JSON.stringify({ ...sampleRecord(), bundle: undefined }),
      'corrupt state file /r/c1/state.json: "bundle" is missing or not a string',
    ],
    [
      JSON.stringify({ ...sampleRecord(), annotations: { a: 1 } }),
      'corrupt state file /r/c1/state.json: "annotations" is not an object of strings',
    ],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseRecord("/r/c1/state.json", text), (err: Error) => {
      assert.equal(err.name, "DenkiError");
      assert.ok(err.message.startsWith(message), `${err.message} should start with ${message}`);
      assert.ok(!err.message.includes("\n"));
      return true;
    });
  }
});
