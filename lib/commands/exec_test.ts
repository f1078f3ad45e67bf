import assert from "node:assert/strict";
import { ContainerNotFound, DenkiError, UsageError } from "../errors.ts";
import { EXEC_FAILED, execFailure, processFromFlags } from "./exec.ts";

const base = {
  cwd: "/",
  args: ["sh"],
  env: ["PATH=/bin"],
  user: { uid: 0, gid: 0, additionalGids: [10] },
  capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] },
};
const none = { env: [], tty: false, "additional-gids": [], cap: [], "no-new-privs": false };

Deno.test("exec flags change a copy of the container's process, as runc's do", () => {
  const p = processFromFlags(base, ["ls", "-l"], {
    ...none,
    cwd: "/tmp",
    env: ["A=1"],
    user: "1000:1001",
    "additional-gids": ["5"],
    cap: ["CAP_CHOWN", "CAP_KILL"],
    "no-new-privs": true,
  });
  assert.deepEqual(p.args, ["ls", "-l"]);
  assert.equal(p.cwd, "/tmp");
  assert.deepEqual(p.env, ["PATH=/bin", "A=1"]);
  assert.deepEqual(p.user, { uid: 1000, gid: 1001, additionalGids: [10, 5] });
  assert.deepEqual(p.capabilities?.bounding, ["CAP_KILL", "CAP_CHOWN"]);
  assert.equal(p.capabilities?.inheritable, undefined);
  assert.equal(p.noNewPrivileges, true);
  assert.deepEqual(base.env, ["PATH=/bin"], "the container's process is not changed");
  const keepsGroup = processFromFlags({ ...base, user: { uid: 1, gid: 44 } }, ["true"], {
    ...none,
    user: "7",
  });
  assert.deepEqual(keepsGroup.user, { uid: 7, gid: 44 }, "without :GID the group stays");
  assert.throws(() => processFromFlags(base, ["true"], { ...none, user: "7:x" }), /UID:GID/);
  assert.throws(
    () => processFromFlags(base, ["true"], { ...none, "additional-gids": ["wheel"] }),
    /not a number/,
  );
});

Deno.test("a failed exec exits 255 as runc's does; a usage error keeps 1", () => {
  assert.equal(EXEC_FAILED, 255);
  const missing = execFailure(new ContainerNotFound("c1"));
  assert.ok(missing instanceof ContainerNotFound, "the error itself, not a copy");
  assert.equal(missing.exitCode, 255);
  assert.equal(execFailure(new DenkiError("paused")).exitCode, 255);
  const bug = execFailure(new TypeError("x is undefined"));
  assert.equal(bug.message, "internal error: x is undefined");
  assert.equal(bug.exitCode, 255);
  assert.equal(execFailure("thrown text").message, "internal error: thrown text");
  assert.equal(execFailure(new UsageError("bad", "usage")).exitCode, 1);
});
