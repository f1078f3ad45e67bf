import assert from "node:assert/strict";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "./paths.ts";

Deno.test("normalize: collapses separators, dots and dot-dots", () => {
  assert.equal(normalize("/a//b/./c/"), "/a/b/c");
  assert.equal(normalize("/a/b/../../.."), "/");
  assert.equal(normalize("a/../../b"), "../b");
  assert.equal(normalize(""), ".");
  assert.equal(normalize("./"), ".");
});

Deno.test("join, resolve, dirname, basename", () => {
  assert.equal(join("/run/denki", "id", "state.json"), "/run/denki/id/state.json");
  assert.equal(join("a", "", "b"), "a/b");
  assert.equal(resolve("/bundle", "rootfs"), "/bundle/rootfs");
  assert.equal(resolve("/bundle", "/abs/rootfs/"), "/abs/rootfs");
  assert.equal(resolve("/bundle", "../x"), "/x");
  assert.equal(dirname("/a/b"), "/a");
  assert.equal(dirname("/a"), "/");
  assert.equal(dirname("a"), ".");
  assert.equal(basename("/a/b/"), "b");
  assert.equal(basename("/"), "/");
  assert.ok(isAbsolute("/x") && !isAbsolute("x"));
});
