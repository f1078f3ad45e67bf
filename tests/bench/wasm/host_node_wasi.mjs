// A bare WASI host on `node:wasi`, for the benchmark: the same file runs under Node and under
// Deno's node:wasi. Usage: host_node_wasi.mjs MODULE ROOT [ARGS...] (ROOT is preopened as /).
import { readFileSync } from "node:fs";
import process from "node:process";
import { WASI } from "node:wasi";

const [module, root, ...args] = process.argv.slice(2);
const wasi = new WASI({
  version: "preview1",
  args: [module, ...args],
  env: { BENCH: "1" },
  preopens: { "/": root },
  returnOnExit: true,
});
const instance = new WebAssembly.Instance(
  new WebAssembly.Module(readFileSync(module)),
  wasi.getImportObject(),
);
process.exitCode = wasi.start(instance);
