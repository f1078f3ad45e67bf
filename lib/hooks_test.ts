import assert from "node:assert/strict";
import { envObject, runHook, runHooks } from "./hooks.ts";

const state = { ociVersion: "1.3.0", id: "c1", status: "creating" as const, pid: 42, bundle: "/b" };

Deno.test("envObject: KEY=value list to an object, later entries win", () => {
  assert.deepEqual(envObject(["A=1", "B=x=y", "A=2", "bad"]), { A: "2", B: "x=y" });
});

Deno.test("runHook: state on stdin, args, exactly the hook's env", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.env.set("DENKI_HOOK_LEAK", "secret");
    await runHook("prestart", {
      path: "/bin/sh",
      args: [
        "sh",
        "-c",
        `cat > ${dir}/state; echo "$0 $1" > ${dir}/args; env > ${dir}/env`,
        "a0",
        "a1",
      ],
      env: ["ONLY=this"],
    }, state);
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(`${dir}/state`)), state);
    assert.equal(Deno.readTextFileSync(`${dir}/args`), "a0 a1\n");
    const env = Deno.readTextFileSync(`${dir}/env`);
    assert.match(env, /^ONLY=this$/m);
    assert.doesNotMatch(env, /DENKI_HOOK_LEAK/);
  } finally {
    // Set for this test only: later tests in this process must not see it.
    Deno.env.delete("DENKI_HOOK_LEAK");
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("runHook: failures and timeouts name the hook; the list stops at the first", async () => {
  await assert.rejects(
    runHook("poststop", { path: "/bin/sh", args: ["sh", "-c", "echo oops >&2; exit 4"] }, state),
    {
      message: "poststop hook /bin/sh failed: exit status 4: oops",
    },
  );
  await assert.rejects(
    runHook("prestart", { path: "/bin/sleep", args: ["sleep", "5"], timeout: 1 }, state),
    {
      message: "prestart hook /bin/sleep: timed out after 1s",
    },
  );
  await assert.rejects(runHook("prestart", { path: "/nonexistent/hook" }, state), {
    message: /^prestart hook \/nonexistent\/hook: cannot start: /,
  });
  const dir = Deno.makeTempDirSync();
  try {
    await assert.rejects(runHooks("createRuntime", [
      { path: "/bin/false" },
      { path: "/bin/sh", args: ["sh", "-c", `touch ${dir}/ran`] },
    ], state));
    assert.throws(() => Deno.statSync(`${dir}/ran`), Deno.errors.NotFound);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
