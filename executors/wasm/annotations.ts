/** The config annotations that ask for the Wasm executor, and the value each must have. */
export const WASM_ANNOTATIONS: Readonly<Record<string, string>> = {
  "run.oci.handler": "wasm",
  "module.wasm.image/variant": "compat",
};
