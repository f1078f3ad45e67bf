/**
 * Wasm containers under the denki shim, both routes: the guest run in the shim itself (a
 * Worker; no process of its own, so the task's pid is the shim daemon's) and, when the config
 * asks for it, the init route (a process of its own). Stdin reaches a guest in the shim
 * through the shim, and its end reaches it as end-of-file. A guest that tries every way out of
 * its root (tests/wasi/src/escape.c, in an image with its traps) reaches nothing from inside
 * the shim, which runs as root. Every case reads back what the guest printed.
 */
import assert from "node:assert/strict";
import { type Containerd, WASM_IMAGE, WASM_IMAGE_ENV } from "./support/containerd.ts";
import { DENKI, runFlags, shimDaemons, tasks, waitFor, withShim } from "./support/shim.ts";
import { buildImage } from "./support/oci_image.ts";
import { type Requirement, testWith } from "./support/requires.ts";
import { compile, missingTools } from "./wasi/build.ts";
import { type Tree, writeTree } from "./wasi/tree.ts";

const HELLO = "Hello from a denki Wasm container. My environment:\n";
const ROUTE = "run.denki.shim.route";
const ECHO_IMAGE = "docker.io/library/denki-echo-wasm:latest";

function T(name: string, fn: (c: Containerd) => Promise<void>, reqs: Requirement[] = []): void {
  testWith(`shim [denki] wasm: ${name}`, [...DENKI.reqs, ...reqs], () => withShim(DENKI, fn, {}));
}

/** Runs a Wasm image detached and waits until its guest has ended; returns its task pid. */
async function runToEnd(
  c: Containerd,
  id: string,
  extra: string[] = [],
  image = WASM_IMAGE,
): Promise<number> {
  const r = await c.ctr(["run", "-d", ...runFlags(c, DENKI), ...extra, image, id]);
  assert.equal(r.code, 0, `${r.stderr}\n${c.logTail()}`);
  await waitFor(`${id} stopped`, async () => (await tasks(c)).get(id)?.status === "STOPPED");
  return (await tasks(c)).get(id)!.pid;
}

T("the guest runs in the shim unless the config asks for the init route", async (c) => {
  const inShim = await runToEnd(c, "h1");
  assert.ok(
    shimDaemons(c.ns).includes(inShim),
    `task pid ${inShim} is a shim daemon (${shimDaemons(c.ns)})`,
  );
  const viaInit = await runToEnd(c, "h2", ["--annotation", `${ROUTE}=init`]);
  assert.ok(!shimDaemons(c.ns).includes(viaInit), `task pid ${viaInit} is its own process`);
  for (const id of ["h1", "h2"]) {
    const d = await c.ctr(["task", "delete", id]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal((await c.ctr(["container", "delete", id])).code, 0);
  }
  // The init route prints the same: both are the same guest with the same environment.
  const r = await c.ctr([
    "run",
    "--rm",
    ...runFlags(c, DENKI),
    "--annotation",
    `${ROUTE}=init`,
    WASM_IMAGE,
    "h3",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, HELLO + WASM_IMAGE_ENV.map((e) => `${e}\n`).join(""));
});

T("stdin reaches a guest in the shim, and its end is end-of-file", async (c) => {
  const dir = `${c.dir}/echo-image`;
  Deno.mkdirSync(`${dir}/rootfs`, { recursive: true });
  const echo = compile(new URL("./wasi/src/stdio_echo.c", import.meta.url).pathname);
  Deno.copyFileSync(echo, `${dir}/rootfs/echo.wasm`);
  await buildImage(
    { name: ECHO_IMAGE, rootfs: `${dir}/rootfs`, entrypoint: ["/echo.wasm"], env: ["PATH=/"] },
    `${dir}/echo.tar`,
    `${dir}/work`,
  );
  const imported = await c.ctr(["image", "import", `${dir}/echo.tar`]);
  assert.equal(imported.code, 0, imported.stderr);
  const text = "through the shim's stdin bridge\n".repeat(3000); // ~96 KiB: several reads
  const child = new Deno.Command("ctr", {
    args: ["-a", c.socket, "-n", c.ns, "run", "--rm", ...runFlags(c, DENKI), ECHO_IMAGE, "e1"],
    clearEnv: true,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.ok(stdout.includes(`stdin: ${text.length} bytes`), stdout.slice(0, 300));
  assert.ok(stdout.includes(`${text}[end of echo]\n`), "the guest echoed all of its stdin");
  assert.match(stdout, /read at the end again: ok, 0 bytes/);
}, [missingTools()]);

T("a guest in the shim (a root process) reaches nothing outside its root", async (c) => {
  const dir = `${c.dir}/escape-image`;
  const kase = JSON.parse(
    Deno.readTextFileSync(new URL("./wasi/src/escape.json", import.meta.url)),
  ) as { tree: Tree; expect: { stdout: string; exit: number } };
  // The case's tree (links to "/", "/etc", "..", chains) is the image's root.
  writeTree(`${dir}/rootfs`, kase.tree);
  const escape = compile(new URL("./wasi/src/escape.c", import.meta.url).pathname);
  Deno.copyFileSync(escape, `${dir}/rootfs/escape.wasm`);
  const image = "docker.io/library/denki-escape-wasm:latest";
  await buildImage(
    { name: image, rootfs: `${dir}/rootfs`, entrypoint: ["/escape.wasm"], env: [] },
    `${dir}/escape.tar`,
    `${dir}/work`,
  );
  assert.equal((await c.ctr(["image", "import", `${dir}/escape.tar`])).code, 0);
  const r = await c.ctr(["run", "--rm", ...runFlags(c, DENKI), image, "x1"]);
  assert.equal(r.code, kase.expect.exit, r.stderr);
  // Every way out is ENOTCAPABLE; absolute links resolve in the guest's root (its own
  // etc/passwd, never the host's).
  assert.equal(r.stdout, kase.expect.stdout);
  // And it was the shim that ran it: the same image's task is a shim daemon.
  const pid = await runToEnd(c, "x2", [], image);
  assert.ok(shimDaemons(c.ns).includes(pid), `task pid ${pid} is a shim daemon`);
  assert.equal((await c.ctr(["task", "delete", "x2"])).code, 0);
  assert.equal((await c.ctr(["container", "delete", "x2"])).code, 0);
}, [missingTools()]);
