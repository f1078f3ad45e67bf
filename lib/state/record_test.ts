import assert from "node:assert/strict";
import { parseCreating, parseRecord, toOciState } from "./record.ts";
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

Deno.test("parseRecord, parseCreating: the host mounts of a container without a mount namespace", () => {
  const mounts = [
    { point: "/proc", id: 60, parent: 27, unique: "2147483700" },
    { point: "/dev", id: 61, parent: 27 },
  ];
  const rec = { ...sampleRecord(), mounts };
  assert.deepEqual(parseRecord("/f", JSON.stringify(rec)).mounts, mounts);
  const creating = {
    id: "c1",
    bundle: "/b",
    rootfs: "/b/rootfs",
    created: "now",
    owner: "root",
    creatorPid: 1,
    creatorStartTime: 2,
    pid: 3,
    pidStartTime: 4,
    mounts,
    pendingMounts: [{ point: "/dev/pts", over: 61 }],
  };
  assert.deepEqual(parseCreating("/f", JSON.stringify(creating)), creating);
  const bad: [Record<string, unknown>, string][] = [
    [{ mounts: {} }, '"mounts" is not a list of mount records'],
    [{ mounts: [{ point: "proc", id: 1, parent: 1 }] }, '"mounts" is not a list'],
    [{ mounts: [{ point: "/p", id: -1, parent: 1 }] }, '"mounts" is not a list'],
    [{ mounts: [{ point: "/p", id: 1, parent: 1, unique: "12x" }] }, '"mounts" is not a list'],
  ];
  for (const [patch, message] of bad) {
    assert.throws(() => parseRecord("/f", JSON.stringify({ ...rec, ...patch })), {
      message: new RegExp(message),
    });
    assert.throws(() => parseCreating("/f", JSON.stringify({ ...creating, ...patch })), {
      message: new RegExp(message),
    });
  }
  assert.throws(
    () => parseCreating("/f", JSON.stringify({ ...creating, pendingMounts: [{ point: "/x" }] })),
    { message: /"pendingMounts" is not a list of pending mount records/ },
  );
});
