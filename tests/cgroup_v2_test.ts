/**
 * The cgroup v2 code paths on the real kernel. This host's cgroup2 hierarchy has almost no
 * controllers (they are bound to v1), but the v2 core is all there: a manager given a layout
 * that holds only the cgroup2 mount acts as on a unified host for placement, cgroup.freeze,
 * process listing, the BPF device filter and removal. Controller files (memory.max, ...) are
 * covered by the unit tests against the in-memory cgroupfs.
 */
import assert from "node:assert/strict";
import { parseLayout } from "../lib/cgroups/layout.ts";
import { Cgroup } from "../lib/cgroups/manager.ts";
import { type Requirement, root, testWith } from "./support/requires.ts";

/** The cgroup2 mount line of this host, if there is one. */
function cgroup2Line(): string | undefined {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .find((l) => l.split(" - ")[1]?.startsWith("cgroup2 "));
}

function cgroup2(): Requirement {
  return cgroup2Line() ? undefined : "no cgroup2 hierarchy is mounted";
}

/** A unified-only layout over the host's cgroup2 mount. */
function unifiedLayout() {
  return parseLayout(cgroup2Line()!, "");
}

async function exitedSoon(child: Deno.ChildProcess): Promise<Deno.CommandStatus> {
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  try {
    return await child.status;
  } finally {
    clearTimeout(timer);
  }
}

testWith(
  "cgroup v2: join, freeze and thaw, list, device filter, removal",
  [root(), cgroup2()],
  async () => {
    const path = `/denki-v2-test-${Deno.pid}/c1`;
    const cg = Cgroup.create(unifiedLayout(), path, undefined);
    const leaf = cg.rec.v2!;
    const parent = leaf.slice(0, leaf.lastIndexOf("/"));
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        "read go; (: < /dev/kmsg) 2>/dev/null && echo kmsg-ok || echo kmsg-denied; " +
        "cat /dev/null && echo null-ok; read done",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const stdin = child.stdin.getWriter();
    try {
      assert.deepEqual(cg.rec.v1, {});
      assert.deepEqual(cg.rec.created, [parent, leaf]);
      cg.join(child.pid);
      assert.deepEqual(cg.pids(), [child.pid]);
      // Deny all: only the defaults every container gets remain (/dev/null yes, /dev/kmsg no).
      cg.apply({ devices: [{ allow: false, access: "rwm" }] }, { devices: true });
      await cg.freeze();
      assert.equal(cg.freezerState(), "frozen");
      assert.match(Deno.readTextFileSync(`${leaf}/cgroup.events`), /^frozen 1$/m);
      await cg.thaw();
      assert.equal(cg.freezerState(), "thawed");
      await stdin.write(new TextEncoder().encode("go\n"));
      const reader = child.stdout.getReader();
      let out = "";
      while (!out.includes("null-ok")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      assert.match(out, /kmsg-denied/);
      assert.match(out, /null-ok/);
      await stdin.write(new TextEncoder().encode("done\n"));
      await stdin.close();
      assert.equal((await exitedSoon(child)).code, 0);
      await cg.remove();
      assert.throws(() => Deno.statSync(leaf));
      assert.throws(() => Deno.statSync(parent), "the parent denki made is gone too");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      for (const dir of [leaf, parent]) {
        try {
          Deno.removeSync(dir);
        } catch {
          // removed by the test
        }
      }
    }
  },
);
