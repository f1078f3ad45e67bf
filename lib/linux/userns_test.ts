import assert from "node:assert/strict";
import { DenkiError } from "../errors.ts";
import type { IdMapping } from "../spec/config.ts";
import {
  type IdMapHost,
  idMapProblems,
  mapShapeProblems,
  mapText,
  MAX_MAP_LINES,
  subordinateRanges,
  writeIdMaps,
} from "./userns.ts";

const m = (containerID: number, hostID: number, size: number): IdMapping => ({
  containerID,
  hostID,
  size,
});

Deno.test("mapText: one kernel line per mapping, each ending in a newline", () => {
  assert.deepEqual(mapText([]), "");
  assert.deepEqual(mapText([m(0, 100000, 65536)]), "0 100000 65536\n");
  assert.deepEqual(mapText([m(0, 1000, 1), m(1, 100000, 65535)]), "0 1000 1\n1 100000 65535\n");
});

Deno.test("mapShapeProblems: every shape the kernel refuses, and what it takes", () => {
  const w = "linux.uidMappings";
  assert.deepEqual(mapShapeProblems([m(0, 0, 0xffff_ffff)], w), []); // the initial namespace's own
  assert.deepEqual(mapShapeProblems([m(0, 1000, 1), m(1, 100000, 65536)], w), []);
  assert.deepEqual(mapShapeProblems([], w), [
    `${w}: empty; a user namespace needs at least one mapping`,
  ]);
  assert.deepEqual(mapShapeProblems([m(0, 100000, 0)], w), [`${w}[0]: size must be at least 1`]);
  assert.deepEqual(mapShapeProblems([m(0xffff_ffff, 1, 1)], w), [
    `${w}[0]: containerID 4294967295 is not a valid id`,
  ]);
  assert.deepEqual(mapShapeProblems([m(0, 0xffff_ffff, 1)], w), [
    `${w}[0]: hostID 4294967295 is not a valid id`,
  ]);
  assert.deepEqual(mapShapeProblems([m(0, -1, 1), m(1.5, 0, 1)], w), [
    `${w}[0]: hostID -1 is not a valid id`,
    `${w}[1]: containerID 1.5 is not a valid id`,
  ]);
  // first + count must stay below 2^32: the last line the kernel takes ends at id 2^32-2.
  assert.deepEqual(mapShapeProblems([m(0xffff_fffe, 0, 1)], w), []);
  assert.deepEqual(mapShapeProblems([m(0xffff_fffe, 0, 2)], w), [
    `${w}[0]: containerID 4294967294 + size 2 runs past the last id 4294967294`,
  ]);
  assert.deepEqual(mapShapeProblems([m(0, 1, 0xffff_ffff)], w), [
    `${w}[0]: hostID 1 + size 4294967295 runs past the last id 4294967294`,
  ]);
  // Overlaps on either side; touching ranges are fine.
  assert.deepEqual(mapShapeProblems([m(0, 100000, 10), m(10, 100010, 10)], w), []);
  assert.deepEqual(mapShapeProblems([m(0, 100000, 10), m(5, 200000, 10)], w), [
    `${w}[1]: container ids 5-14 overlap ${w}[0]`,
  ]);
  assert.deepEqual(mapShapeProblems([m(0, 100000, 10), m(100, 100009, 1)], w), [
    `${w}[1]: host ids 100009 overlap ${w}[0]`,
  ]);
  assert.deepEqual(mapShapeProblems([m(0, 7, 1), m(1, 8, 1), m(0, 7, 1)], w), [
    `${w}[2]: container ids 0 overlap ${w}[0]`,
    `${w}[2]: host ids 7 overlap ${w}[0]`,
  ]);
});

Deno.test("mapShapeProblems: at most 340 lines and one page of text", () => {
  const w = "linux.gidMappings";
  const lines = (n: number, base: number) =>
    Array.from({ length: n }, (_, i) => m(base + i, base + i, 1));
  assert.deepEqual(MAX_MAP_LINES, 340);
  assert.deepEqual(mapShapeProblems(lines(340, 0), w), []);
  assert.deepEqual(mapShapeProblems(lines(341, 0), w), [
    `${w}: 341 mappings; the kernel takes at most 340`,
  ]);
  // 340 lines of ten-digit ids make 8160 bytes: more than the kernel reads in one write.
  const long = lines(340, 4_000_000_000);
  assert.deepEqual(mapText(long).length, 8160);
  assert.deepEqual(mapShapeProblems(long, w), [
    `${w}: 8160 bytes as text; the kernel takes at most 4095`,
  ]);
});

Deno.test("subordinateRanges: lines of the caller's name or uid, malformed ones skipped", () => {
  const text = [
    "# comment",
    "alice:100000:65536",
    "bob:165536:65536",
    "1000:300000:10",
    "alice:400000",
    "alice:x:5",
    "alice:500000:0",
    "  alice:600000:1  ",
    "",
  ].join("\n");
  assert.deepEqual(subordinateRanges(text, "alice", 1000), [
    { start: 100000, count: 65536 },
    { start: 300000, count: 10 },
    { start: 600000, count: 1 },
  ]);
  assert.deepEqual(subordinateRanges(text, undefined, 1000), [{ start: 300000, count: 10 }]);
  assert.deepEqual(subordinateRanges(text, "carol", 1001), []);
});

/** A fake host in a temp dir: passwd, subuid, subgid, denki's own maps, helpers or not. */
function fakeHost(files: {
  passwd?: string;
  subuid?: string;
  subgid?: string;
  selfMap?: string;
  helpers?: boolean;
}): { host: IdMapHost; dir: string } {
  const dir = Deno.makeTempDirSync({ prefix: "denki-userns-" });
  const write = (name: string, text: string | undefined) => {
    if (text !== undefined) Deno.writeTextFileSync(`${dir}/${name}`, text);
  };
  write("passwd", files.passwd ?? "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/h:/bin/sh\n");
  write("subuid", files.subuid);
  write("subgid", files.subgid);
  write("self_map", files.selfMap ?? "         0          0 4294967295\n");
  Deno.mkdirSync(`${dir}/bin`);
  if (files.helpers ?? true) {
    for (const h of ["newuidmap", "newgidmap"]) write(`bin/${h}`, "#!/bin/sh\n");
    for (const h of ["newuidmap", "newgidmap"]) Deno.chmodSync(`${dir}/bin/${h}`, 0o755);
  }
  return {
    dir,
    host: {
      passwd: `${dir}/passwd`,
      subuid: `${dir}/subuid`,
      subgid: `${dir}/subgid`,
      selfUidMap: `${dir}/self_map`,
      selfGidMap: `${dir}/self_map`,
      helperPath: `relative:${dir}/bin`,
    },
  };
}

/** The problems `idMapProblems` finds on a fake host; its temp dir reads as "<dir>". */
function problemsWith(
  files: Parameters<typeof fakeHost>[0],
  uid: IdMapping[],
  gid: IdMapping[],
  caller = { uid: 1000, gid: 1000 },
): string[] {
  const { host, dir } = fakeHost(files);
  try {
    return idMapProblems({ uidMappings: uid, gidMappings: gid }, caller, host)
      .map((p) => p.replaceAll(dir, "<dir>"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const U = "linux.uidMappings";
const G = "linux.gidMappings";
const NEED_UID_HELPER = "mapping uids beyond your own needs newuidmap (Debian package uidmap)";
const NEED_GID_HELPER = "mapping gids beyond your own needs newgidmap (Debian package uidmap)";

Deno.test("idMapProblems: root may map any host ids its own namespace has", () => {
  const big = [m(0, 100000, 65536)];
  assert.deepEqual(problemsWith({ helpers: false }, big, big, { uid: 0, gid: 0 }), []);
  // A user namespace with no maps: both are reported empty.
  assert.deepEqual(problemsWith({}, [], [], { uid: 0, gid: 0 }), [
    `${U}: empty; a user namespace needs at least one mapping`,
    `${G}: empty; a user namespace needs at least one mapping`,
  ]);
  // Shape problems are reported for each map.
  assert.deepEqual(problemsWith({}, [m(0, 1, 0)], [m(0, 0, 5), m(1, 10, 1)], { uid: 0, gid: 0 }), [
    `${U}[0]: size must be at least 1`,
    `${G}[1]: container ids 1 overlap ${G}[0]`,
  ]);
  // denki itself in a user namespace that has only ids 0-65535: host id 70000 does not exist.
  const nested = problemsWith(
    { selfMap: "0 100000 65536\n" },
    [m(0, 0, 65536)],
    [m(0, 4464, 65537)],
    { uid: 0, gid: 0 },
  );
  assert.deepEqual(nested, [
    `${G}[0]: host gids 4464-70000 do not exist in denki's own user namespace`,
  ]);
});

Deno.test("idMapProblems: a non-root caller's own ids need no subordinate ranges nor helpers", () => {
  assert.deepEqual(problemsWith({ helpers: false }, [m(0, 1000, 1)], [m(0, 1000, 1)]), []);
  assert.deepEqual(problemsWith({ helpers: false }, [m(5, 1000, 1)], [m(7, 1000, 1)]), []);
  // Two of its ids are no longer only its own; nor is someone else's id.
  assert.deepEqual(problemsWith({ helpers: false }, [m(0, 1000, 2)], [m(0, 1000, 1)]), [
    `${U}[0]: host uids 1000-1001 are neither your own uid 1000 nor inside your ranges in ` +
    `<dir>/subuid (alice (uid 1000) has none)`,
    NEED_UID_HELPER,
  ]);
  assert.deepEqual(problemsWith({ helpers: false }, [m(0, 1000, 1)], [m(0, 0, 1)]), [
    `${G}[0]: host gids 0 are neither your own gid 1000 nor inside your ranges in ` +
    `<dir>/subgid (alice (uid 1000) has none)`,
    NEED_GID_HELPER,
  ]);
});

Deno.test("idMapProblems: subordinate ranges by name or uid, helpers needed beyond own ids", () => {
  const uid = [m(0, 1000, 1), m(1, 100000, 65536)];
  const gid = [m(0, 1000, 1), m(1, 300000, 65536)];
  const sub = { subuid: "alice:100000:65536\n", subgid: "1000:300000:65536\n" };
  assert.deepEqual(problemsWith(sub, uid, gid), []);
  assert.deepEqual(problemsWith({ ...sub, helpers: false }, uid, gid), [
    NEED_UID_HELPER,
    NEED_GID_HELPER,
  ]);
  // Only the uid map goes beyond its own id: only newuidmap is needed.
  assert.deepEqual(problemsWith({ ...sub, helpers: false }, uid, [m(0, 1000, 1)]), [
    NEED_UID_HELPER,
  ]);
  // A range may span two adjacent lines of the file, not a gap between them.
  const split = { subuid: "alice:100000:100\nalice:100100:100\nalice:100300:100\n" };
  assert.deepEqual(problemsWith(split, [m(0, 100000, 200)], [m(0, 1000, 1)]), []);
  assert.deepEqual(problemsWith(split, [m(0, 100000, 400)], [m(0, 1000, 1)]), [
    `${U}[0]: host uids 100000-100399 are neither your own uid 1000 nor inside your ranges ` +
    `in <dir>/subuid (alice (uid 1000) has 100000-100099, 100100-100199, 100300-100399)`,
  ]);
  // One id past the end of the range; someone else's range; no /etc/subgid at all.
  assert.deepEqual(problemsWith(sub, [m(0, 100000, 65537)], [m(0, 1000, 1)]), [
    `${U}[0]: host uids 100000-165536 are neither your own uid 1000 nor inside your ranges ` +
    `in <dir>/subuid (alice (uid 1000) has 100000-165535)`,
  ]);
  assert.deepEqual(
    problemsWith({ subuid: "bob:100000:65536\n1001:100000:65536\n" }, uid, [m(0, 1000, 1)]),
    [
      `${U}[1]: host uids 100000-165535 are neither your own uid 1000 nor inside your ranges ` +
      `in <dir>/subuid (alice (uid 1000) has none)`,
    ],
  );
  assert.deepEqual(problemsWith({ subuid: sub.subuid }, uid, gid), [
    `${G}[1]: host gids 300000-365535 are neither your own gid 1000 nor inside your ranges ` +
    `in <dir>/subgid (alice (uid 1000) has none)`,
  ]);
  // A caller with no passwd entry is matched by its uid only.
  assert.deepEqual(
    problemsWith({ passwd: "", subuid: "alice:100000:65536\n1000:200000:10\n" }, [
      m(0, 200000, 10),
      m(10, 100000, 1),
    ], [m(0, 1000, 1)]),
    [
      `${U}[1]: host uids 100000 are neither your own uid 1000 nor inside your ranges ` +
      `in <dir>/subuid (uid 1000 has 200000-200009)`,
    ],
  );
});

Deno.test("idMapProblems: an unreadable subordinate-id file is a problem, not a crash", () => {
  const { host, dir } = fakeHost({});
  try {
    Deno.mkdirSync(`${dir}/subuid`);
    const found = idMapProblems(
      { uidMappings: [m(0, 100000, 10)], gidMappings: [m(0, 1000, 1)] },
      { uid: 1000, gid: 1000 },
      host,
    );
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^linux\.uidMappings: cannot read .*\/subuid: .*EISDIR/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

// ---- writing the maps of a real process in a new user namespace ----

const ROOT = Deno.uid() === 0;
const HAS_UNSHARE = ["/usr/bin/unshare", "/usr/bin/setpriv"].every((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
const missing = [
  ROOT ? "" : "needs root",
  HAS_UNSHARE ? "" : "needs util-linux unshare and setpriv",
]
  .filter((r) => r !== "");

/** A test that runs only as root with util-linux, else is listed as skipped with the reason. */
function rootTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: missing.length > 0 ? `${name} [skipped: ${missing.join(", ")}]` : name,
    ignore: missing.length > 0,
    fn,
  });
}

/** `sleep 30` in a user namespace of its own (made by util-linux unshare, optionally as nobody). */
async function sleeperInUserns(asNobody: boolean): Promise<Deno.ChildProcess> {
  const cmd = asNobody
    ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "--user"]
    : ["unshare", "--user"];
  const child = new Deno.Command(cmd[0]!, {
    args: [...cmd.slice(1), "sleep", "30"],
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
    stdin: "null",
  }).spawn();
  // setpriv and unshare exec in place: the pid is the sleeper's once its user namespace differs.
  const ours = Deno.readLinkSync("/proc/self/ns/user");
  for (let i = 0; i < 200; i++) {
    try {
      if (Deno.readLinkSync(`/proc/${child.pid}/ns/user`) !== ours) return child;
    } catch {
      break; // it exited
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await stop(child);
  throw new Error(`pid ${child.pid} never entered a new user namespace`);
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await child.status;
}

/** A /proc map file of `pid` as [inside, outside, count] triples. */
function readMap(pid: number, name: string): number[][] {
  return Deno.readTextFileSync(`/proc/${pid}/${name}`).trim().split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number));
}

rootTest(
  "writeIdMaps as root: several lines each, setgroups left allowed, one write only",
  async () => {
    const child = await sleeperInUserns(false);
    const pid = child.pid;
    try {
      const uid = [m(0, 100000, 65536), m(65536, 5000, 1)];
      const gid = [m(0, 200000, 1000), m(1000, 0, 1), m(1001, 201001, 64535)];
      await writeIdMaps(pid, uid, gid, { uid: 0, gid: 0 });
      assert.deepEqual(readMap(pid, "uid_map"), [[0, 100000, 65536], [65536, 5000, 1]]);
      assert.deepEqual(readMap(pid, "gid_map"), [[0, 200000, 1000], [1000, 0, 1], [
        1001,
        201001,
        64535,
      ]]);
      assert.equal(Deno.readTextFileSync(`/proc/${pid}/setgroups`).trim(), "allow");
      // The kernel takes a map once: a second write names the file, the process and the cause.
      await assert.rejects(
        () => writeIdMaps(pid, uid, gid, { uid: 0, gid: 0 }),
        (e: Error) => {
          assert.ok(e instanceof DenkiError);
          assert.equal(
            e.message,
            `cannot write the gid map for process ${pid} to /proc/${pid}/gid_map: ` +
              "EPERM (operation not permitted)",
          );
          return true;
        },
      );
    } finally {
      await stop(child);
    }
  },
);

rootTest("writeIdMaps: the kernel's limits are the checker's", async () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => m(i, 1000 + i, 1));
  const wide = (n: number) => Array.from({ length: n }, (_, i) => m(1e9 + i, 2e9 + i, 1));
  const gid = [m(0, 100000, 65536)];
  const root = { uid: 0, gid: 0 };
  const tries: [string, IdMapping[]][] = [
    ["340 lines", lines(340)],
    ["341 lines", lines(341)],
    // 170 lines of 24 bytes and one of 15 or 16: one byte below and at a page.
    ["4095 bytes", [...wide(170), m(0, 1_000_000, 1234)]],
    ["4096 bytes", [...wide(170), m(0, 1_000_000, 12345)]],
  ];
  const results: string[] = [];
  for (const [what, uid] of tries) {
    const child = await sleeperInUserns(false);
    try {
      const text = mapText(uid);
      const checker = mapShapeProblems(uid, U).length === 0 ? "accepts" : "refuses";
      const kernel = await writeIdMaps(child.pid, uid, gid, root).then(
        () => readMap(child.pid, "uid_map").length === uid.length ? "takes" : "garbles",
        (e: Error) => e.message.endsWith("EINVAL (invalid argument)") ? "refuses" : e.message,
      );
      results.push(`${what} (${text.length} bytes): checker ${checker}, kernel ${kernel}`);
    } finally {
      await stop(child);
    }
  }
  assert.deepEqual(results, [
    "340 lines (3630 bytes): checker accepts, kernel takes",
    "341 lines (3641 bytes): checker refuses, kernel refuses",
    "4095 bytes (4095 bytes): checker accepts, kernel takes",
    "4096 bytes (4096 bytes): checker refuses, kernel refuses",
  ]);
});

rootTest(
  "writeIdMaps: a process that is gone, and a helper that refuses, are one-line errors",
  async () => {
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    await assert.rejects(
      () => writeIdMaps(gone.pid, [m(0, 0, 1)], [m(0, 0, 1)], { uid: 0, gid: 0 }),
      new RegExp(
        `^DenkiError: cannot write the gid map for process ${gone.pid} to ` +
          `/proc/${gone.pid}/gid_map: ENOENT .* \\(the process is gone\\)$`,
      ),
    );
    const child = await sleeperInUserns(false);
    const pid = child.pid;
    const empty = Deno.makeTempDirSync({ prefix: "denki-userns-bin-" });
    try {
      // As a caller without subordinate ranges (root has none): newgidmap says why it refuses.
      const hasHelpers = ["newuidmap", "newgidmap"].every((h) => {
        try {
          return Deno.statSync(`/usr/bin/${h}`).isFile;
        } catch {
          return false;
        }
      });
      if (hasHelpers) {
        await assert.rejects(
          () =>
            writeIdMaps(pid, [m(0, 100000, 65536)], [m(0, 100000, 65536)], {
              uid: 1000,
              gid: 1000,
            }),
          (e: Error) => {
            assert.ok(e instanceof DenkiError);
            assert.match(
              e.message,
              new RegExp(
                `^cannot map the gids of process ${pid}: newgidmap ${pid} 0 100000 65536: ` +
                  "exit status 1: newgidmap: gid range .* not allowed$",
              ),
            );
            assert.ok(!e.message.includes("\n"));
            return true;
          },
        );
      } else console.error("newgidmap is not installed: its refusal is not tested");
      // The gid map is its own id (written directly, setgroups denied); newuidmap is missing.
      await assert.rejects(
        () =>
          writeIdMaps(pid, [m(0, 100000, 65536)], [m(0, 1000, 1)], { uid: 1000, gid: 1000 }, empty),
        new RegExp(
          `^DenkiError: cannot map the uids of process ${pid}: newuidmap is not installed ` +
            "\\(Debian package uidmap\\)$",
        ),
      );
      assert.deepEqual(readMap(pid, "gid_map"), [[0, 1000, 1]]);
      assert.equal(Deno.readTextFileSync(`/proc/${pid}/setgroups`).trim(), "deny");
    } finally {
      await stop(child);
      Deno.removeSync(empty);
    }
  },
);

rootTest(
  "writeIdMaps as a non-root user: its own uid and gid, setgroups denied first",
  async () => {
    const child = await sleeperInUserns(true);
    const pid = child.pid;
    // The writer must be that user too: a Deno run as nobody that imports this module.
    const denoDir = Deno.makeTempDirSync({ prefix: "denki-userns-deno-" });
    Deno.chownSync(denoDir, 65534, 65534);
    try {
      const url = new URL("./userns.ts", import.meta.url).href;
      const script = `import { writeIdMaps } from ${JSON.stringify(url)};
      const own = [{ containerID: 0, hostID: 65534, size: 1 }];
      await writeIdMaps(${pid}, own, own, { uid: Deno.uid(), gid: Deno.gid() });
      console.log("written by", Deno.uid());`;
      const out = await new Deno.Command("setpriv", {
        args: [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          Deno.execPath(),
          "eval",
          "--no-config",
          script,
        ],
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", DENO_DIR: denoDir, HOME: denoDir, NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder();
      assert.equal(out.code, 0, text.decode(out.stderr));
      assert.equal(text.decode(out.stdout).trim(), "written by 65534");
      assert.deepEqual(readMap(pid, "uid_map"), [[0, 65534, 1]]);
      assert.deepEqual(readMap(pid, "gid_map"), [[0, 65534, 1]]);
      assert.equal(Deno.readTextFileSync(`/proc/${pid}/setgroups`).trim(), "deny");
    } finally {
      await stop(child);
      Deno.removeSync(denoDir, { recursive: true });
    }
  },
);
