import assert from "node:assert/strict";
import { checkContainerId, idProblem, MAX_ID_LENGTH } from "./container_id.ts";

Deno.test("container ids: runc's character set is accepted", () => {
  for (const id of ["a", "A-b_c.d+e", "0123", "...", "x".repeat(MAX_ID_LENGTH)]) {
    assert.equal(idProblem(id), undefined, id);
  }
});

Deno.test("container ids: path tricks, odd characters and long ids are refused", () => {
  const cases: [string, string][] = [
    ["", "it is empty"],
    [".", "it is a path component"],
    ["..", "it is a path component"],
    ["a/b", 'only letters, digits and "_+-." are allowed'],
    ["../etc", 'only letters, digits and "_+-." are allowed'],
    ["a b", 'only letters, digits and "_+-." are allowed'],
    ["a:b", 'only letters, digits and "_+-." are allowed'],
    ["a\nb", 'only letters, digits and "_+-." are allowed'],
    ["ü", 'only letters, digits and "_+-." are allowed'],
    ["x".repeat(MAX_ID_LENGTH + 1), "it is longer than 255 characters"],
  ];
  for (const [id, why] of cases) assert.equal(idProblem(id), why, JSON.stringify(id));
});

Deno.test("checkContainerId: one-line error naming the id", () => {
  assert.throws(() => checkContainerId("a/b"), {
    name: "DenkiError",
    message: 'invalid container id "a/b": only letters, digits and "_+-." are allowed',
  });
  assert.throws(() => checkContainerId("y".repeat(300)), {
    message: `invalid container id "${"y".repeat(64)}...": it is longer than 255 characters`,
  });
});
