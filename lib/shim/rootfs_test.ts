/**
 * mountRootfs/unmountRootfs make real mounts. Their tests run in a `deno test` of this file
 * started in a private mount namespace (`unshare --mount --propagation private`), so a failed
 * test leaves no mount on the host: the namespace dies with that process. The outer tests
 * (run as usual) start it once and report each inner test's outcome under the same name.
 */
import assert from "node:assert/strict";
import { mountRootfs, type RootfsMount, unmountRootfs } from "./rootfs.ts";

const INNER = Deno.env.get("DENKI_ROOTFS_TEST_INNER") === "1";
const PREFIX = "in a mount namespace: ";

/** Mount points in this mount namespace. */
function mountPoints(): string[] {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").filter((l) => l !== "")
    .map((l) => l.split(" ")[4]!.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(+`0o${o}`)));
}

const isMounted = (path: string) => mountPoints().includes(path);

/** The error code of what `fn` throws (Deno's "EROFS" and the like). */
function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).name;
  }
  return undefined;
}

/** A temp dir with `src` (a file in it), `lower`, `upper`, `work`; removed after `fn`. */
async function withDirs(
  fn: (d: { dir: string; src: string; target: string }) => Promise<void> | void,
): Promise<void> {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "denki-rootfs-" }));
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  Deno.writeTextFileSync(`${src}/hello`, "hi from the snapshot\n");
  for (const d of ["lower", "upper", "work"]) Deno.mkdirSync(`${dir}/${d}`);
  const target = `${dir}/bundle/rootfs`;
  try {
    await fn({ dir, src, target });
  } finally {
    // Whatever a failed assertion left mounted comes down before the directory goes.
    for (let i = 0; i < 8 && mountPoints().some((m) => m.startsWith(dir)); i++) {
      for (const m of mountPoints().filter((m) => m.startsWith(dir)).reverse()) unmountRootfs(m);
    }
    Deno.removeSync(dir, { recursive: true });
  }
}

const overlay = (dir: string, lower = `${dir}/lower`): RootfsMount => ({
  type: "overlay",
  source: "overlay",
  options: [`lowerdir=${lower}`, `upperdir=${dir}/upper`, `workdir=${dir}/work`],
});

/** Why an overlay cannot be mounted in a temp dir here, or undefined when it can. */
function overlayProblem(): string | undefined {
  const dir = Deno.makeTempDirSync({ prefix: "denki-rootfs-probe-" });
  try {
    for (const d of ["l", "u", "w", "m"]) Deno.mkdirSync(`${dir}/${d}`);
    const r = new Deno.Command("unshare", {
      args: [
        "--mount",
        "--propagation",
        "private",
        "mount",
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w`,
        `${dir}/m`,
      ],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    if (r.success) return undefined;
    const why = new TextDecoder().decode(r.stderr).trim().split("\n")[0]?.slice(0, 80);
    return `overlay cannot mount on the temp dir's file system (${why})`;
  } catch (e) {
    return `overlay probe failed (${(e as Error).message.slice(0, 80)})`;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The inner tests, each run inside the private mount namespace. */
const CASES: { name: string; overlay?: boolean; fn: () => Promise<void> }[] = [
  {
    name: "a read-only bind shows the snapshot and refuses writes (EROFS)",
    fn: () =>
      withDirs(({ src, target }) => {
        mountRootfs([{ type: "bind", source: src, options: ["rbind", "ro"] }], target);
        assert.ok(isMounted(target));
        assert.equal(Deno.readTextFileSync(`${target}/hello`), "hi from the snapshot\n");
        assert.equal(codeOf(() => Deno.writeTextFileSync(`${target}/new`, "x")), "EROFS");
        assert.equal(codeOf(() => Deno.removeSync(`${target}/hello`)), "EROFS");
        // Read-only is the mount's, not the source's.
        Deno.writeTextFileSync(`${src}/later`, "y");
        assert.equal(Deno.readTextFileSync(`${target}/later`), "y");
        unmountRootfs(target);
        assert.ok(!isMounted(target));
        assert.deepEqual([...Deno.readDirSync(target)], []);
      }),
  },
  {
    name: "a read-write bind writes through to the source",
    fn: () =>
      withDirs(({ src, target }) => {
        mountRootfs([{ type: "bind", source: src, options: ["rbind", "rw"] }], target);
        Deno.writeTextFileSync(`${target}/new`, "z");
        assert.equal(Deno.readTextFileSync(`${src}/new`), "z");
        unmountRootfs(target);
        assert.ok(!isMounted(target));
      }),
  },
  {
    name: "an overlay shows the lower layer and writes to the upper one",
    overlay: true,
    fn: () =>
      withDirs(({ dir, target }) => {
        Deno.writeTextFileSync(`${dir}/lower/a`, "lower\n");
        mountRootfs([overlay(dir)], target);
        assert.ok(isMounted(target));
        assert.equal(Deno.readTextFileSync(`${target}/a`), "lower\n");
        Deno.writeTextFileSync(`${target}/b`, "new\n");
        Deno.writeTextFileSync(`${target}/a`, "changed\n");
        assert.equal(Deno.readTextFileSync(`${dir}/upper/b`), "new\n");
        assert.equal(Deno.readTextFileSync(`${dir}/upper/a`), "changed\n");
        assert.equal(Deno.readTextFileSync(`${dir}/lower/a`), "lower\n", "lower untouched");
        unmountRootfs(target);
        assert.ok(!isMounted(target));
      }),
  },
  {
    name: "a failure midway undoes the mounts made before it, with a one-line error",
    fn: () =>
      withDirs(({ dir, src, target }) => {
        const before = mountPoints().length;
        assert.throws(
          () =>
            mountRootfs([
              { type: "bind", source: src, options: ["rbind"] },
              { type: "bind", source: src, options: ["rbind", "ro"] },
              overlay(dir, `${dir}/no-such-lower`),
            ], target),
          (e: Error) => {
            assert.equal(e.name, "DenkiError");
            assert.ok(!e.message.includes("\n"), e.message);
            assert.match(
              e.message,
              new RegExp(`^cannot mount the rootfs \\(overlay from overlay\\) on ${target}: `),
            );
            return true;
          },
        );
        assert.ok(!isMounted(target), "nothing stays mounted on the target");
        assert.equal(mountPoints().length, before);
        // A first mount that fails leaves nothing either.
        assert.throws(
          () => mountRootfs([{ type: "bind", source: `${dir}/missing`, options: [] }], target),
          /cannot mount the rootfs \(bind from .*missing\)/,
        );
        assert.equal(mountPoints().length, before);
      }),
  },
  {
    name: "unmountRootfs takes down stacked mounts and is a no-op on a non-mount",
    fn: () =>
      withDirs(({ dir, src, target }) => {
        const before = mountPoints().length;
        Deno.mkdirSync(target, { recursive: true });
        unmountRootfs(target); // a directory nothing is mounted on
        unmountRootfs(`${dir}/missing`); // no such path
        assert.equal(mountPoints().length, before);
        mountRootfs([
          { type: "bind", source: src, options: ["rbind"] },
          { type: "bind", source: `${dir}/lower`, options: ["rbind", "ro"] },
        ], target);
        assert.equal(mountPoints().filter((m) => m === target).length, 2);
        unmountRootfs(target);
        assert.equal(mountPoints().length, before);
        // An empty list mounts nothing and does not even make the target.
        mountRootfs([], `${dir}/other`);
        assert.equal(codeOf(() => Deno.statSync(`${dir}/other`)), "ENOENT");
      }),
  },
];

/** Runs this file's inner tests once in a private mount namespace; its output. */
let inner: Promise<{ code: number; text: string }> | undefined;
function runInner(): Promise<{ code: number; text: string }> {
  inner ??= (async () => {
    const r = await new Deno.Command("unshare", {
      args: [
        "--mount",
        "--propagation",
        "private",
        Deno.execPath(),
        "test",
        "-A",
        "--no-check",
        new URL(import.meta.url).pathname,
      ],
      env: { DENKI_ROOTFS_TEST_INNER: "1", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const td = new TextDecoder();
    return { code: r.code, text: td.decode(r.stdout) + td.decode(r.stderr) };
  })();
  return inner;
}

function unshareProblem(): string | undefined {
  if (Deno.uid() !== 0) return "needs root";
  try {
    new Deno.Command("unshare", { args: ["--version"], stdout: "null" }).outputSync();
    return undefined;
  } catch {
    return "unshare is not installed";
  }
}

if (INNER) {
  for (const c of CASES) Deno.test(PREFIX + c.name, c.fn);
} else {
  const missing = unshareProblem();
  const noOverlay = missing === undefined ? overlayProblem() : undefined;
  for (const c of CASES) {
    const why = missing ?? (c.overlay ? noOverlay : undefined);
    Deno.test({
      name: `rootfs: ${c.name}` + (why !== undefined ? ` [skipped: ${why}]` : ""),
      ignore: why !== undefined,
      async fn() {
        const { text } = await runInner();
        const line = text.split("\n").find((l) => l.startsWith(`${PREFIX}${c.name} ...`));
        assert.ok(line !== undefined, `the inner test did not run:\n${text}`);
        assert.match(line, /\.\.\. ok/, `the inner test failed:\n${text}`);
      },
    });
  }
}
