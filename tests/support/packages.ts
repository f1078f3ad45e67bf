/** Debian packages for tests and benchmarks, installed on demand (CI machines start bare). */

/** True when `name` is an executable on PATH. */
export function hasProgram(name: string): boolean {
  const path = Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin";
  return path.split(":").some((dir) => {
    try {
      return ((Deno.statSync(`${dir}/${name}`).mode ?? 0) & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

function sh(cmd: string, args: string[]): boolean {
  const out = new Deno.Command(cmd, {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "inherit",
    stderr: "inherit",
  }).outputSync();
  return out.success;
}

/** A package and how to tell it is installed: a program on PATH or a file it ships. */
export type Wanted = { program: string; pkg: string } | { file: string; pkg: string };

function present(w: Wanted): boolean {
  if ("program" in w) return hasProgram(w.program);
  try {
    Deno.statSync(w.file);
    return true;
  } catch {
    return false;
  }
}

/** What the container tests and benchmarks run: runc as a peer, busybox as the rootfs. */
export const CONTAINER_PACKAGES: readonly Wanted[] = [
  { program: "runc", pkg: "runc" },
  { program: "busybox", pkg: "busybox-static" },
  // `denki ps` runs the host's ps(1), as runc does.
  { program: "ps", pkg: "procps" },
  // util-linux `script` gives `denki run` a real terminal in the terminal tests.
  { program: "script", pkg: "bsdutils" },
  // The default seccomp profile podman uses (Debian 12 ships it in this package).
  { file: "/usr/share/containers/seccomp.json", pkg: "golang-github-containers-common" },
  // containerd drives denki in tests/containerd_test.ts; ctr and the runc v2 shim come with it.
  // (Where systemd runs, installing it also starts the host's own daemon; no test uses that.)
  { program: "containerd", pkg: "containerd" },
  // The CRI tests' pods are on a CNI bridge (the plugins) in containerd's own network
  // namespace, whose loopback the harness brings up with ip(8).
  { file: "/usr/lib/cni/bridge", pkg: "containernetworking-plugins" },
  { program: "ip", pkg: "iproute2" },
  // podman drives denki in tests/podman_test.ts, through conmon (a package of its own).
  { program: "conmon", pkg: "conmon" },
  { program: "podman", pkg: "podman" },
  // The aarch64 build of denki's native stage runs its unit tests under qemu-user.
  { program: "qemu-aarch64-static", pkg: "qemu-user-static" },
  // Rootless tests map subordinate ids (/etc/subuid) through setuid newuidmap/newgidmap.
  { program: "newuidmap", pkg: "uidmap" },
];

/** What builds the WASI test programs and Wasm benchmark guests: C to wasm32-wasi, and WAT. */
export const WASM_TOOLCHAIN: readonly Wanted[] = [
  { program: "clang-14", pkg: "clang-14" },
  { program: "wasm-ld-14", pkg: "lld-14" },
  { file: "/usr/lib/wasm32-wasi/libc.a", pkg: "wasi-libc" },
  { file: "/usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi", pkg: "libclang-rt-14-dev-wasm32" },
  { program: "wat2wasm", pkg: "wabt" },
];

/** Installs the missing packages with apt-get when root; reports what stays missing. */
export function ensurePrograms(wanted: readonly Wanted[]): void {
  const missing = wanted.filter((w) => !present(w)).map((w) => w.pkg);
  if (missing.length === 0) return;
  if (Deno.uid() !== 0 || !hasProgram("apt-get")) {
    console.error(`packages: not installing ${missing.join(", ")} (needs root and apt-get)`);
    return;
  }
  console.error(`packages: installing ${missing.join(", ")}`);
  const install = ["install", "-y", "-q", "--no-install-recommends", ...missing];
  if (!sh("apt-get", install)) {
    // A fresh machine may have no package lists yet.
    sh("apt-get", ["update", "-q"]);
    if (!sh("apt-get", install)) console.error("packages: apt-get install failed");
  }
}
