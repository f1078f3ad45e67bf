/** End-to-end checks of the command line through bin/denki, side by side with runc. */
import assert from "node:assert/strict";
import { run, tempDir } from "./support/denki.ts";
import { program, testWith } from "./support/requires.ts";

Deno.test("cli: --help lists the commands, --version names denki, the spec and Deno", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  for (const cmd of ["spec", "state", "list", "features"]) {
    assert.match(help.stdout, new RegExp(`\n  ${cmd} `));
  }
  assert.match(help.stdout, /--root DIR/);
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^denki version \d+\.\d+\.\d+\nspec: 1\.3\.0\ndeno: 2\.\d+\.\d+\n/);
  const short = await run(["-v"]);
  assert.equal(short.stdout, version.stdout);
});

Deno.test("cli: every command has --help", async () => {
  for (const cmd of ["spec", "state", "list", "features"]) {
    const r = await run([cmd, "--help"]);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, new RegExp(`^Usage: denki \\[global options\\] ${cmd}`), cmd);
    assert.match(r.stdout, /-h, --help/);
    const viaHelp = await run(["help", cmd]);
    assert.equal(viaHelp.stdout, r.stdout);
  }
});

Deno.test("cli: usage errors exit 1 with one line and the usage", async () => {
  const cases: [string[], string][] = [
    [["bogus"], 'unknown command "bogus"'],
    [["state"], "missing argument <container-id>"],
    [["state", "a", "b"], 'unexpected argument "b"'],
    [["list", "--bogus"], "unknown option: --bogus"],
    [["list", "--format", "yaml"], 'option --format: "yaml" is not one of "table", "json"'],
    [["--log-format", "xml", "list"], 'option --log-format: "xml" is not one of "text", "json"'],
    [["--root"], "option --root needs a value"],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assert.equal(r.code, 1, args.join(" "));
    const [first, ...rest] = r.stderr.trimEnd().split("\n");
    assert.ok(
      first!.endsWith(` level=error msg=${JSON.stringify(message)}`),
      `${args.join(" ")}: ${first}`,
    );
    assert.match(rest.join("\n"), /^Usage: denki /, args.join(" "));
    assert.equal(r.stdout, "");
  }
});

Deno.test("cli: a negative --preserve-fds is a usage error, not an internal one; nothing is made", async () => {
  const dir = tempDir();
  try {
    const root = `${dir.path}/root`;
    for (
      const args of [
        ["create", "--preserve-fds=-1", "c1"],
        ["run", "--preserve-fds", "-1", "c1"],
        ["exec", "--preserve-fds=-3", "c1", "true"],
      ]
    ) {
      const r = await run(["--root", root, ...args]);
      assert.equal(r.code, 1, args.join(" "));
      const [first, ...rest] = r.stderr.trimEnd().split("\n");
      const value = args[1] === "--preserve-fds" ? args[2] : args[1]!.split("=")[1];
      assert.ok(
        first!.endsWith(` level=error msg="option --preserve-fds: ${value} is less than 0"`),
        `${args.join(" ")}: ${first}`,
      );
      assert.match(rest.join("\n"), new RegExp(`^Usage: denki \\[global options\\] ${args[0]} `));
      assert.doesNotMatch(r.stderr, /internal error/);
    }
    assert.throws(() => Deno.statSync(root), Deno.errors.NotFound, "no state root made");
  } finally {
    dir.cleanup();
  }
});

Deno.test("cli: state of a missing container, on a missing root, exits 1", async () => {
  const dir = tempDir();
  try {
    const r = await run(["--root", `${dir.path}/none`, "state", "nope"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /level=error msg="container \\"nope\\" does not exist"\n$/);
    assert.equal(r.stdout, "");
    assert.throws(() => Deno.statSync(`${dir.path}/none`), Deno.errors.NotFound, "nothing created");
  } finally {
    dir.cleanup();
  }
});

Deno.test("cli: invalid ids are refused before anything is touched", async () => {
  const dir = tempDir();
  try {
    for (const id of ["../x", "a/b", "..", "a b"]) {
      const r = await run(["--root", `${dir.path}/root`, "state", id]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /msg="invalid container id /);
    }
    assert.throws(() => Deno.statSync(`${dir.path}/root`), Deno.errors.NotFound);
  } finally {
    dir.cleanup();
  }
});

Deno.test("cli: --log with json format writes containerd-readable lines and tells stderr", async () => {
  const dir = tempDir();
  try {
    const log = `${dir.path}/log.json`;
    const r = await run(["--root", dir.path, "--log", log, "--log-format", "json", "state", "x1"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'container "x1" does not exist\n');
    const lines = Deno.readTextFileSync(log).trim().split("\n");
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]!);
    assert.deepEqual(Object.keys(rec), ["level", "msg", "time"]);
    assert.equal(rec.level, "error");
    assert.equal(rec.msg, 'container "x1" does not exist');
    assert.ok(!Number.isNaN(Date.parse(rec.time)));
  } finally {
    dir.cleanup();
  }
});

Deno.test("cli: json log format without a log file goes to stderr", async () => {
  const r = await run(["--root", "/nonexistent-denki-root", "--log-format=json", "state", "x"]);
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.stderr).msg, 'container "x" does not exist');
});

/** Writes a state record as `create` will, for a process that is (or is not) alive. */
function writeState(root: string, id: string, fields: Record<string, unknown>) {
  Deno.mkdirSync(`${root}/${id}`, { recursive: true });
  const rec = {
    ociVersion: "1.3.0",
    id,
    pid: 0,
    pidStartTime: 0,
    status: "running",
    bundle: `/bundles/${id}`,
    rootfs: `/bundles/${id}/rootfs`,
    created: "2026-11-28T01:02:03.5Z",
    owner: "root",
    annotations: {},
    ...fields,
  };
  Deno.writeTextFileSync(`${root}/${id}/state.json`, JSON.stringify(rec));
}

function startTimeOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

Deno.test("cli: state and list report live, dead and reused-pid containers correctly", async () => {
  const dir = tempDir();
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const root = `${dir.path}/root`;
    writeState(root, "alive", { pid: sleeper.pid, pidStartTime: startTimeOf(sleeper.pid) });
    writeState(root, "reused", { pid: sleeper.pid, pidStartTime: startTimeOf(sleeper.pid) - 1 });
    writeState(root, "done", { status: "stopped", annotations: { "org.example": "x" } });
    const alive = await run(["--root", root, "state", "alive"]);
    assert.equal(alive.code, 0, alive.stderr);
    assert.equal(
      alive.stdout,
      JSON.stringify(
        {
          ociVersion: "1.3.0",
          id: "alive",
          pid: sleeper.pid,
          status: "running",
          bundle: "/bundles/alive",
          rootfs: "/bundles/alive/rootfs",
          created: "2026-11-28T01:02:03.5Z",
          // runc's state command never fills the owner in (list shows it); no newline after.
          owner: "",
        },
        null,
        2,
      ),
    );
    const reused = JSON.parse((await run(["--root", root, "state", "reused"])).stdout);
    assert.equal(reused.status, "stopped");
    assert.equal(reused.pid, 0);
    const done = JSON.parse((await run(["--root", root, "state", "done"])).stdout);
    assert.deepEqual(Object.keys(done).slice(-2), ["annotations", "owner"]);

    const json = JSON.parse((await run(["--root", root, "list", "--format", "json"])).stdout);
    assert.deepEqual(json.map((s: { id: string; status: string }) => [s.id, s.status]), [
      ["alive", "running"],
      ["done", "stopped"],
      ["reused", "stopped"],
    ]);
    const quiet = await run(["--root", root, "list", "-q"]);
    assert.equal(quiet.stdout, "alive\ndone\nreused\n");
    const table = (await run(["--root", root, "list"])).stdout.split("\n");
    assert.match(table[0]!, /^ID {10}PID {9}STATUS {6}BUNDLE {12}CREATED {18}OWNER$/);
    assert.match(
      table[1]!,
      new RegExp(
        `^alive {7}${sleeper.pid} +running {5}/bundles/alive {4}2026-11-28T01:02:03.5Z {3}root$`,
      ),
    );
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
    dir.cleanup();
  }
});

Deno.test("cli: a corrupt state file is a one-line error naming it, list skips it", async () => {
  const dir = tempDir();
  try {
    Deno.mkdirSync(`${dir.path}/bad`);
    Deno.writeTextFileSync(`${dir.path}/bad/state.json`, '{"id": "bad", "pi');
    const r = await run(["--root", dir.path, "state", "bad"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1);
    assert.match(r.stderr, new RegExp(`corrupt state file ${dir.path}/bad/state.json: not JSON`));
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace");
    const list = await run(["--root", dir.path, "list", "-q"]);
    assert.equal(list.code, 0);
    assert.equal(list.stdout, "");
    assert.match(
      list.stderr,
      /level=warning msg="skipping container \\"bad\\": corrupt state file/,
    );
  } finally {
    dir.cleanup();
  }
});

Deno.test("cli: spec writes runc's default container and never overwrites", async () => {
  const dir = tempDir();
  try {
    const r = await run(["spec"], { cwd: dir.path });
    assert.equal(r.code, 0, r.stderr);
    const text = Deno.readTextFileSync(`${dir.path}/config.json`);
    assert.match(text, /^\{\n\t"ociVersion": "1\.3\.0",\n\t"process": \{/, "tab indentation");
    const again = await run(["spec"], { cwd: dir.path });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /config\.json: it already exists \(remove it first\)/);
    assert.equal(Deno.readTextFileSync(`${dir.path}/config.json`), text, "left untouched");
    const missing = await run(["spec", "--bundle", `${dir.path}/nope`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot write .*\/nope\/config\.json: no such file or directory/);
  } finally {
    dir.cleanup();
  }
});

Deno.test("cli: features lists the supported version range and nothing unimplemented", async () => {
  const r = await run(["features"]);
  assert.equal(r.code, 0);
  const f = JSON.parse(r.stdout);
  assert.equal(f.ociVersionMin, "1.0.0");
  assert.equal(f.ociVersionMax, "1.3.0");
  assert.deepEqual(f.hooks, [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
  ]);
  assert.ok(f.mountOptions.includes("rbind") && f.mountOptions.includes("nosymfollow"));
  // Idmapped mounts (tests/idmap_test.ts): the options and the mounts' maps are understood.
  assert.ok(f.mountOptions.includes("idmap") && f.mountOptions.includes("ridmap"));
  assert.deepEqual(f.linux.mountExtensions, { idmap: { enabled: true } });
  assert.deepEqual(f.linux.namespaces, [
    "cgroup",
    "ipc",
    "mount",
    "network",
    "pid",
    "time",
    "user",
    "uts",
  ]);
  assert.deepEqual(f.linux.cgroup, {
    v1: true,
    v2: true,
    systemd: false,
    systemdUser: false,
    rdma: true,
  });
  assert.equal(f.linux.seccomp.enabled, true);
  assert.ok(f.linux.seccomp.actions.includes("SCMP_ACT_NOTIFY"));
  assert.ok(f.linux.seccomp.archs.includes("SCMP_ARCH_X86_64"));
  assert.equal(typeof f.annotations["dev.denki.version"], "string");
  assert.equal(f.annotations["dev.denki.executors"], "linux,wasm");
  assert.deepEqual(f.potentiallyUnsafeConfigAnnotations, [
    "run.oci.handler",
    "module.wasm.image/variant",
  ]);
});

/** The shape of a JSON value: objects by their keys, arrays by their first element. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : [shape(v[0])];
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  }
  return typeof v;
}

testWith(
  "cli: spec and spec --rootless have the shape runc writes",
  [program("runc")],
  async () => {
    const dir = tempDir();
    try {
      for (const rootless of [false, true]) {
        const flags = rootless ? ["--rootless"] : [];
        for (const [name, prog] of [["denki", undefined], ["runc", "runc"]] as const) {
          Deno.mkdirSync(`${dir.path}/${name}${rootless}`);
          const r = await run(["spec", ...flags, "--bundle", `${dir.path}/${name}${rootless}`], {
            ...(prog ? { program: prog } : {}),
          });
          assert.equal(r.code, 0, r.stderr);
        }
        const ours = JSON.parse(Deno.readTextFileSync(`${dir.path}/denki${rootless}/config.json`));
        const theirs = JSON.parse(Deno.readTextFileSync(`${dir.path}/runc${rootless}/config.json`));
        assert.deepEqual(shape(ours), shape(theirs), `rootless=${rootless}`);
        assert.deepEqual(ours.mounts, theirs.mounts, `rootless=${rootless}`);
        assert.deepEqual(ours.process, theirs.process, `rootless=${rootless}`);
        assert.deepEqual(ours.linux.uidMappings, theirs.linux.uidMappings);
        // denki adds a cgroup namespace, as runc 1.2 does; the rest is the same.
        assert.deepEqual(
          ours.linux.namespaces.filter((n: { type: string }) => n.type !== "cgroup"),
          theirs.linux.namespaces,
        );
      }
    } finally {
      dir.cleanup();
    }
  },
);

testWith("cli: state, list and spec errors exit like runc's", [program("runc")], async () => {
  const dir = tempDir();
  try {
    const root = `${dir.path}/root`;
    for (const args of [["state", "nope"], ["list", "--bogus"], ["state"]]) {
      const ours = await run(["--root", root, ...args]);
      const theirs = await run(["--root", root, ...args], { program: "runc" });
      assert.equal(ours.code, theirs.code, args.join(" "));
    }
    const ours = await run(["--root", root, "list", "-q"]);
    const theirs = await run(["--root", root, "list", "-q"], { program: "runc" });
    assert.equal(ours.code, theirs.code);
    assert.equal(ours.stdout, theirs.stdout);
    const ourTable = await run(["--root", root, "list"]);
    const theirTable = await run(["--root", root, "list"], { program: "runc" });
    assert.equal(ourTable.stdout, theirTable.stdout, "empty table: the same header");
    Deno.writeTextFileSync(`${dir.path}/config.json`, "{}");
    const ourSpec = await run(["spec", "-b", dir.path]);
    const theirSpec = await run(["spec", "-b", dir.path], { program: "runc" });
    assert.equal(ourSpec.code, theirSpec.code);
  } finally {
    dir.cleanup();
  }
});
