/** Version facts shown by `denki --version` and written into new configs and states. */

/** denki's own version. */
export const DENKI_VERSION = "0.1.0";

/** The newest OCI runtime-spec version denki implements. */
export const OCI_SPEC_VERSION = "1.3.0";
