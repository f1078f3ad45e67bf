/**
 * The OCI image tarballs the containerd and podman harnesses import: busybox-static, and a
 * Wasm image whose entrypoint is bundles/hello-wasm's module.
 */
import { buildImage, type BuiltImage } from "./oci_image.ts";

const REPO = new URL("../..", import.meta.url).pathname;

/** The image names the harness imports into every instance. */
export const BUSYBOX_IMAGE = "docker.io/library/denki-busybox:latest";
export const WASM_IMAGE = "docker.io/library/denki-hello-wasm:latest";
/** The sandbox ("pause") image of the CRI tests: busybox whose entrypoint sleeps. */
export const PAUSE_IMAGE = "docker.io/library/denki-pause:latest";

/** The environment the Wasm image's config sets (hello.wasm prints its environment). */
export const WASM_IMAGE_ENV = ["PATH=/", "GREETING=hello-from-the-image"];

/** The images the harnesses import. */
export interface TestImages {
  busybox: BuiltImage;
  wasm: BuiltImage;
  pause: BuiltImage;
}

let images: Promise<TestImages> | undefined;

/**
 * The busybox, Wasm and pause image tarballs, built once per test process from busybox-static
 * and bundles/hello-wasm, and removed when the process ends.
 */
export function testImages(): Promise<TestImages> {
  images ??= (async () => {
    const dir = Deno.makeTempDirSync({ prefix: "denki-images-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const built = await new Deno.Command(`${REPO}bundles/busybox/build-rootfs.sh`, {
      args: [`${dir}/busybox`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));
    const busybox = await buildImage(
      {
        name: BUSYBOX_IMAGE,
        rootfs: `${dir}/busybox`,
        cmd: ["sh"],
        env: ["PATH=/bin"],
      },
      `${dir}/busybox.tar`,
      `${dir}/work-busybox`,
    );
    // The Wasm image: nothing but the module, which is its entrypoint.
    Deno.mkdirSync(`${dir}/wasm`);
    Deno.copyFileSync(`${REPO}bundles/hello-wasm/rootfs/hello.wasm`, `${dir}/wasm/hello.wasm`);
    const wasm = await buildImage(
      {
        name: WASM_IMAGE,
        rootfs: `${dir}/wasm`,
        entrypoint: ["/hello.wasm"],
        env: WASM_IMAGE_ENV,
        annotations: { "module.wasm.image/variant": "compat" },
      },
      `${dir}/wasm.tar`,
      `${dir}/work-wasm`,
    );
    // A pod's sandbox only has to hold its namespaces: busybox's sleep, for 68 years.
    const pause = await buildImage(
      {
        name: PAUSE_IMAGE,
        rootfs: `${dir}/busybox`,
        entrypoint: ["/bin/sleep", "2147483647"],
        env: ["PATH=/bin"],
      },
      `${dir}/pause.tar`,
      `${dir}/work-pause`,
    );
    return { busybox, wasm, pause };
  })();
  return images;
}
