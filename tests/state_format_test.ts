/**
 * `state` and `list` against runc, byte for byte: the same bundle created by both, their
 * outputs compared with only the values that must differ (pid, paths, id, time) normalised.
 */
import assert from "node:assert/strict";
import { CONTAINER_REQS, type Lab, withLab } from "./support/container.ts";
import { run } from "./support/denki.ts";
import { program, testWith } from "./support/requires.ts";

/** RFC 3339 in UTC with up to nine fraction digits, no trailing zero (Go's RFC3339Nano). */
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;

async function created(lab: Lab, runc: boolean, id: string) {
  const b = lab.bundle((c) => (c.process.args = ["sleep", "100"]));
  const root = runc ? `${lab.dir}/runc-state` : lab.root;
  const opts = runc ? { program: "runc", files: true } : { files: true };
  const c = await run(["--root", root, "create", "--bundle", b.dir, id], opts);
  assert.equal(c.code, 0, c.stderr);
  const state = await run(["--root", root, "state", id], runc ? { program: "runc" } : {});
  assert.equal(state.code, 0, state.stderr);
  const list = await run(
    ["--root", root, "list", "--format", "json"],
    runc ? { program: "runc" } : {},
  );
  assert.equal(list.code, 0, list.stderr);
  const s = JSON.parse(state.stdout);
  // Everything that must differ between the two, replaced by its name.
  // ociVersion too: runc prints the spec version it was built with (specconv sets
  // config.Version = specs.Version), denki the bundle's.
  const normal = state.stdout
    .replace(JSON.stringify(s.ociVersion), '"VERSION"')
    .replace(`"pid": ${s.pid},`, '"pid": PID,')
    .replace(JSON.stringify(s.created), '"CREATED"')
    .replaceAll(JSON.stringify(b.dir), '"BUNDLE"')
    .replaceAll(JSON.stringify(b.rootfs), '"ROOTFS"')
    .replace(JSON.stringify(id), '"ID"');
  return { state: s, text: normal, list: JSON.parse(list.stdout), root };
}

testWith(
  "state: the same bytes as runc's (owner empty, created in nanoseconds); list's owner too",
  [...CONTAINER_REQS, program("runc")],
  () =>
    withLab(async (lab) => {
      const before = Date.now();
      const denki = await created(lab, false, "sd1");
      let runc: Awaited<ReturnType<typeof created>> | undefined;
      try {
        runc = await created(lab, true, "sr1");
        assert.equal(denki.text, runc.text);
        assert.equal(denki.state.owner, "");
        for (const s of [denki.state, runc.state]) {
          assert.match(s.created, RFC3339_NANO);
        }
        // Nanoseconds, not milliseconds: more than three fraction digits (a 1 in 10^6 chance
        // of a true nanosecond time ending in six zeros aside).
        const frac = /\.(\d+)Z$/.exec(denki.state.created)?.[1] ?? "";
        assert.ok(frac.length > 3, denki.state.created);
        const at = Date.parse(denki.state.created);
        assert.ok(at >= before - 1000 && at <= Date.now() + 1000, denki.state.created);
        // list keeps the creator's name as runc's does.
        assert.equal(denki.list[0].owner, runc.list[0].owner);
        assert.equal(denki.list[0].owner, "root");
      } finally {
        await run(["--root", `${lab.dir}/runc-state`, "delete", "--force", "sr1"], {
          program: "runc",
        });
      }
    }),
);
