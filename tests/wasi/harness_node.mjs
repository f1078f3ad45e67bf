// A cross-check of the WASI test programs against Node's own WASI (node:wasi, preview1).
//
//   node tests/wasi/harness_node.mjs [NAME...]         (all programs when no NAME is given)
//   node tests/wasi/harness_node.mjs --show NAME...    (print what Node produced, no compare)
//
// For each NAME it compiles src/NAME.c (clang --target=wasm32-wasi) or src/NAME.wat
// (wat2wasm) into a temp dir, builds the case's tree (and mounts) in fresh temp dirs, runs
// the module in a child Node process (so a program that exits, traps or raises a signal
// cannot take the harness down) and compares stdout, stderr, the exit status and the tree
// with the case's `expect`. Everything it creates is removed afterwards.
//
// Node's WASI is only a second opinion: where it disagrees with the WASI preview1 spec the
// case follows the spec and says so in its "note". Limits of this harness: Node cannot keep
// duplicate or ordered environment variables (env is an object), and it has no read-only
// preopens, so `readonly` is not enforced here.
//
// Environment: CC (default clang-14, else clang), WASI_SYSROOT (adds --sysroot), WAT2WASM.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const srcDir = path.join(here, "src");

if (process.argv[2] === "--child") {
  await child(JSON.parse(process.argv[3]));
} else {
  const show = process.argv[2] === "--show";
  process.exitCode = await main(process.argv.slice(show ? 3 : 2), show);
}

// ---- child: runs one module with node:wasi and reports how it ended over IPC ----

async function child({ wasm, args, env, preopens }) {
  const { WASI } = await import("node:wasi");
  const envObj = {};
  for (const kv of env) {
    const i = kv.indexOf("=");
    envObj[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? "" : kv.slice(i + 1);
  }
  const wasi = new WASI({ version: "preview1", args, env: envObj, preopens, returnOnExit: true });
  let result;
  try {
    const module = await WebAssembly.compile(fs.readFileSync(wasm));
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
    result = { exit: wasi.start(instance) };
  } catch (err) {
    result = err instanceof WebAssembly.RuntimeError
      ? { exit: "trap", message: String(err.message) }
      : { error: String(err && err.stack || err) };
  }
  process.send(result, () => process.exit(0));
}

// ---- parent ----

async function main(names, show) {
  if (names.length === 0) {
    names = fs.readdirSync(srcDir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5))
      .sort();
  }
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "wasi-build-"));
  let failed = 0;
  try {
    for (const name of names) {
      const problems = await runCase(name, buildDir, show)
        .catch((e) => [`harness error: ${e.stack}`]);
      if (show) continue;
      if (problems.length === 0) {
        console.log(`PASS ${name}`);
      } else {
        failed++;
        console.log(`FAIL ${name}`);
        for (const p of problems) console.log(indent(p));
      }
    }
  } finally {
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
  if (!show) console.log(`${names.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

function indent(s) {
  return s.split("\n").map((l) => "    " + l).join("\n");
}

function build(name, buildDir) {
  const out = path.join(buildDir, name + ".wasm");
  const c = path.join(srcDir, name + ".c");
  const wat = path.join(srcDir, name + ".wat");
  let cmd;
  if (fs.existsSync(c)) {
    const cc = process.env.CC || (has("clang-14") ? "clang-14" : "clang");
    const sysroot = process.env.WASI_SYSROOT ? [`--sysroot=${process.env.WASI_SYSROOT}`] : [];
    cmd = [cc, "--target=wasm32-wasi", ...sysroot, "-O2", "-Wall", "-o", out, c];
  } else if (fs.existsSync(wat)) {
    cmd = [process.env.WAT2WASM || "wat2wasm", "-o", out, wat];
  } else {
    throw new Error(`no src/${name}.c or src/${name}.wat`);
  }
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`build failed: ${cmd.join(" ")}\n${r.stderr}${r.error ?? ""}`);
  }
  if (r.stderr) process.stderr.write(r.stderr);
  return out;
}

function has(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

async function runCase(name, buildDir, show) {
  const spec = JSON.parse(fs.readFileSync(path.join(srcDir, name + ".json"), "utf8"));
  const wasm = build(name, buildDir);
  const dirs = [];
  try {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `wasi-${name}-`));
    dirs.push(root);
    makeTree(root, spec.tree ?? {});
    const preopens = { "/": root };
    for (const m of spec.mounts ?? []) {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), `wasi-${name}-mnt-`));
      dirs.push(d);
      makeTree(d, m.tree ?? {});
      preopens[m.guest] = d;
    }
    const res = await runChild({
      wasm,
      args: spec.args ?? [name],
      env: spec.env ?? [],
      preopens,
    }, spec.stdin ?? "");
    if (show) {
      const exit = res.msg && "exit" in res.msg ? res.msg.exit : res.msg?.error ?? res.signal;
      console.log(
        JSON.stringify({
          name,
          exit,
          stdout: res.stdout.toString("utf8"),
          stderr: res.stderr.toString("utf8"),
          tree: readTree(root),
        }),
      );
      return [];
    }
    return compare(spec.expect ?? {}, res, root);
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

function runChild(config, stdin) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [
      "--no-warnings",
      fileURLToPath(import.meta.url),
      "--child",
      JSON.stringify(config),
    ], { stdio: ["pipe", "pipe", "pipe", "ipc"] });
    const out = [], err = [];
    let msg = null;
    const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
    p.stdout.on("data", (d) => out.push(d));
    p.stderr.on("data", (d) => err.push(d));
    p.on("message", (m) => {
      msg = m;
    });
    p.on("error", reject);
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), msg, code, signal });
    });
    p.stdin.on("error", () => {});
    p.stdin.end(stdin);
  });
}

function compare(expect, res, root) {
  const problems = [];
  let exit;
  if (res.msg && "exit" in res.msg) exit = res.msg.exit;
  else if (res.signal) exit = `killed by ${res.signal}`;
  else exit = `no result (child status ${res.code}): ${res.msg?.error ?? ""}`;
  const wantExit = expect.exit ?? 0;
  if (exit !== wantExit) {
    problems.push(`exit: got ${JSON.stringify(exit)}, want ${JSON.stringify(wantExit)}`);
  }

  if ("stdout" in expect) {
    const got = res.stdout.toString("utf8");
    if (got !== expect.stdout) problems.push("stdout differs:\n" + lineDiff(expect.stdout, got));
  }
  if ("stdoutSha256" in expect || "stdoutLength" in expect) {
    const sha = createHash("sha256").update(res.stdout).digest("hex");
    if ("stdoutLength" in expect && res.stdout.length !== expect.stdoutLength) {
      problems.push(`stdout length: got ${res.stdout.length}, want ${expect.stdoutLength}`);
    }
    if ("stdoutSha256" in expect && sha !== expect.stdoutSha256) {
      problems.push(`stdout sha256: got ${sha}, want ${expect.stdoutSha256}`);
    }
  }
  if ("stderr" in expect) {
    const got = res.stderr.toString("utf8");
    if (got !== expect.stderr) problems.push("stderr differs:\n" + lineDiff(expect.stderr, got));
  }
  if ("tree" in expect) {
    const want = normalizeTree(expect.tree);
    const got = readTree(root);
    const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
    const diffs = [];
    for (const k of keys) {
      const w = JSON.stringify(want[k]), g = JSON.stringify(got[k]);
      if (w !== g) diffs.push(`${k}: got ${g ?? "(missing)"}, want ${w ?? "(absent)"}`);
    }
    if (diffs.length) problems.push("tree differs:\n" + diffs.join("\n"));
  }
  return problems;
}

// A line diff (longest common subsequence): "- " lines are expected, "+ " lines are got.
function lineDiff(want, got) {
  const w = want.split("\n"), g = got.split("\n");
  if (w.length * g.length > 4e6) return `(too long to diff: ${w.length} vs ${g.length} lines)`;
  const lcs = Array.from({ length: w.length + 1 }, () => new Uint32Array(g.length + 1));
  for (let i = w.length - 1; i >= 0; i--) {
    for (let j = g.length - 1; j >= 0; j--) {
      lcs[i][j] = w[i] === g[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const lines = [];
  let i = 0, j = 0;
  while (i < w.length || j < g.length) {
    if (i < w.length && j < g.length && w[i] === g[j]) {
      i++;
      j++;
    } else if (j < g.length && (i === w.length || lcs[i][j + 1] >= lcs[i + 1][j])) {
      lines.push(`+ ${g[j++]}`);
    } else lines.push(`- ${w[i++]}`);
  }
  return lines.join("\n");
}

// ---- trees: { "dir/": null, "dir/file": "contents", "link": { "symlink": "target" } } ----

function makeTree(root, tree) {
  for (const [key, value] of Object.entries(tree)) {
    const p = path.join(root, key);
    if (key.endsWith("/")) {
      fs.mkdirSync(p, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (value !== null && typeof value === "object") fs.symlinkSync(value.symlink, p);
    else fs.writeFileSync(p, value ?? "");
  }
}

// The expected tree with every parent directory made explicit.
function normalizeTree(tree) {
  const out = {};
  for (const [key, value] of Object.entries(tree)) {
    const parts = key.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) out[parts.slice(0, i).join("/") + "/"] = null;
    out[key] = key.endsWith("/") ? null : value;
  }
  return out;
}

function readTree(root, rel = "", out = {}) {
  for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const p = path.join(root, r);
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) out[r] = { symlink: fs.readlinkSync(p) };
    else if (st.isDirectory()) {
      out[r + "/"] = null;
      readTree(root, r, out);
    } else out[r] = fs.readFileSync(p, "utf8");
  }
  return out;
}
