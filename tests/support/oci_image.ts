/**
 * OCI image tarballs built by the tests themselves, without a registry: a root filesystem
 * directory becomes one uncompressed layer, next to an image config, a manifest, index.json
 * and oci-layout, all packed into the tar that `ctr image import` reads. Digests are SHA-256
 * computed with crypto.subtle. GNU tar (always on Debian) writes the tars with fixed owners,
 * times and order, so the same rootfs gives the same layer digest.
 */

// deno-lint-ignore no-explicit-any
type Json = any;

/** What goes into the image besides its one layer. */
export interface ImageSpec {
  /** Full image name, e.g. `docker.io/library/denki-busybox:latest` (what ctr run is given). */
  name: string;
  /** The root filesystem directory that becomes the layer. */
  rootfs: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  /** Annotations of the image manifest (e.g. `module.wasm.image/variant`). */
  annotations?: Record<string, string>;
}

/** A built image: the tar to import and the digests it holds. */
export interface BuiltImage {
  name: string;
  tar: string;
  manifestDigest: string;
  layerDigest: string;
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";

/** `sha256:<hex>` of some bytes. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Flags that make GNU tar's output depend only on the files' names, modes and contents. */
const STABLE_TAR = [
  "--sort=name",
  "--mtime=@0",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
  "--format=posix",
  // pax headers would otherwise carry access/change times and the writer's pid.
  "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
];

async function tar(args: string[]): Promise<void> {
  const out = await new Deno.Command("tar", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`tar ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Writes `bytes` as a blob of the layout in `dir`; returns its descriptor. */
async function addBlob(
  dir: string,
  mediaType: string,
  bytes: Uint8Array,
): Promise<{ mediaType: string; digest: string; size: number }> {
  const digest = await sha256(bytes);
  await Deno.writeFile(`${dir}/blobs/sha256/${digest.slice(7)}`, bytes);
  return { mediaType, digest, size: bytes.length };
}

/**
 * Builds an OCI image-layout tarball for linux/amd64 at `out` (a path ending in .tar) from
 * `spec`, using `work` as scratch space (the caller removes it).
 */
export async function buildImage(spec: ImageSpec, out: string, work: string): Promise<BuiltImage> {
  const layout = `${work}/layout`;
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  const layerTar = `${work}/layer.tar`;
  await tar(["-C", spec.rootfs, "-cf", layerTar, ...STABLE_TAR, "."]);
  // Uncompressed, so the layer's digest is also its diff id.
  const layer = await addBlob(layout, OCI_LAYER, await Deno.readFile(layerTar));
  await Deno.remove(layerTar);
  const config: Json = {
    architecture: "amd64",
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    config: {
      Env: spec.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      WorkingDir: spec.workingDir ?? "/",
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    },
    rootfs: { type: "layers", diff_ids: [layer.digest] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: "denki tests/support/oci_image.ts" }],
  };
  const enc = new TextEncoder();
  const configBlob = await addBlob(layout, OCI_CONFIG, enc.encode(JSON.stringify(config)));
  const manifest: Json = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configBlob,
    layers: [layer],
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
  const manifestBlob = await addBlob(layout, OCI_MANIFEST, enc.encode(JSON.stringify(manifest)));
  const tag = spec.name.slice(spec.name.lastIndexOf(":") + 1);
  const index = {
    schemaVersion: 2,
    manifests: [{
      ...manifestBlob,
      platform: { architecture: "amd64", os: "linux" },
      annotations: {
        // containerd's importer names the image after this annotation when it is present;
        // the OCI one is the tag for other tools.
        "io.containerd.image.name": spec.name,
        "org.opencontainers.image.ref.name": tag,
      },
    }],
  };
  await Deno.writeTextFile(`${layout}/index.json`, JSON.stringify(index));
  await Deno.writeTextFile(`${layout}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await tar(["-C", layout, "-cf", out, ...STABLE_TAR, "."]);
  return {
    name: spec.name,
    tar: out,
    manifestDigest: manifestBlob.digest,
    layerDigest: layer.digest,
  };
}
