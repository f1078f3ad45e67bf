/** Version facts shown by `denki --version` and written into new configs and states. */

/** denki's own version. */
export const DENKI_VERSION = "0.1.0";

/** The newest OCI runtime-spec version denki implements. */
export const OCI_SPEC_VERSION = "1.3.0";

/** The `--version` text: denki, the runtime-spec it implements, and the Deno it runs on. */
export function versionText(): string {
  return [
    `denki version ${DENKI_VERSION}`,
    `spec: ${OCI_SPEC_VERSION}`,
    `deno: ${Deno.version.deno}`,
    `v8: ${Deno.version.v8}`,
    `typescript: ${Deno.version.typescript}`,
  ].join("\n");
}
