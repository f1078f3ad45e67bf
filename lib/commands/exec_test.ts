import assert from "node:assert/strict";
import { processFromFlags } from "./exec.ts";

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
