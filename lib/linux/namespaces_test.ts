import assert from "node:assert/strict";
import type { Spec } from "../spec/config.ts";
import { namespaceProblems, sharesHostMounts } from "./namespaces.ts";

const base = (): Spec => ({
  ociVersion: "1.2.0",
  root: { path: "rootfs" },
  linux: { namespaces: [{ type: "pid" }, { type: "network" }] },
});

Deno.test("namespaceProblems: no mount namespace is fine on its own", () => {
  assert.ok(sharesHostMounts(base()));
  assert.deepEqual(namespaceProblems(base()), []);
  const joined = base();
  joined.linux!.namespaces!.push({ type: "mount", path: "/proc/1/ns/mnt" });
  assert.ok(!sharesHostMounts(joined));
});

Deno.test("namespaceProblems: what needs a private mount table is refused, one reason each", () => {
  const spec = base();
  spec.root!.readonly = true;
  spec.linux!.maskedPaths = ["/proc/kcore"];
  spec.linux!.readonlyPaths = ["/proc/sys"];
  spec.linux!.rootfsPropagation = "rprivate";
  const problems = namespaceProblems(spec);
  assert.equal(problems.length, 4);
  assert.match(problems[0]!, /^linux\.maskedPaths needs a mount namespace/);
  assert.match(problems[1]!, /^linux\.readonlyPaths needs a mount namespace/);
  assert.match(problems[2]!, /^root\.readonly needs a mount namespace/);
  assert.match(problems[3]!, /^linux\.rootfsPropagation would change the host's/);
  // The same settings with a mount namespace of its own are fine.
  spec.linux!.namespaces!.push({ type: "mount" });
  assert.deepEqual(namespaceProblems(spec), []);
  // Empty lists ask for nothing.
  assert.deepEqual(
    namespaceProblems({ ...base(), linux: { ...base().linux, maskedPaths: [] } }),
    [],
  );
});

Deno.test("namespaceProblems: a new user namespace is fine; joining pid or mount then is not", () => {
  const spec = base();
  spec.linux!.namespaces!.push({ type: "user" });
  assert.deepEqual(namespaceProblems(spec), []);
  spec.linux!.namespaces = spec.linux!.namespaces!.map((n) =>
    n.type === "pid" ? { type: "pid", path: "/proc/1/ns/pid" } : n
  );
  assert.deepEqual(namespaceProblems(spec), [
    "joining the pid namespace /proc/1/ns/pid needs its user namespace joined too, not a new one",
  ]);
  // Joined by path too: the stage joins it first, then the pid namespace it owns.
  spec.linux!.namespaces = spec.linux!.namespaces!.map((n) =>
    n.type === "user" ? { type: "user", path: "/proc/1/ns/user" } : n
  );
  assert.deepEqual(namespaceProblems(spec), []);
});
