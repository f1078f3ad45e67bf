/**
 * Turns a Docker / containers-common seccomp profile (/usr/share/containers/seccomp.json,
 * moby's default.json) into `linux.seccomp`, the way podman and docker do before they write
 * config.json: the architectures of the native entry of `archMap`, and the syscall entries
 * whose `includes` / `excludes` fit the architecture and the container's capabilities. Test
 * support (lib/plan/testing): the unit and end-to-end tests build real-world profiles with it.
 */
import type { Seccomp } from "../../spec/config.ts";
import type { NativeArch } from "../seccomp/compile.ts";

/** The profile format (fields denki does not need are left out). */
export interface ContainersProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls?: {
    names?: string[];
    name?: string;
    action: string;
    errnoRet?: number;
    args?: { index: number; value: number; valueTwo?: number; op: string }[] | null;
    includes?: Filter;
    excludes?: Filter;
  }[];
}

interface Filter {
  arches?: string[];
  caps?: string[];
  minKernel?: string;
}

/** The profile's names for each native architecture (Go's GOARCH and the SCMP name). */
const GOARCH: Record<NativeArch, { go: string; scmp: string }> = {
  x86_64: { go: "amd64", scmp: "SCMP_ARCH_X86_64" },
  aarch64: { go: "arm64", scmp: "SCMP_ARCH_AARCH64" },
};

/** `linux.seccomp` for a container on `arch` with the capabilities `caps` (bounding set). */
export function fromContainersProfile(
  profile: ContainersProfile,
  arch: NativeArch,
  caps: readonly string[],
): Seccomp {
  const { go, scmp } = GOARCH[arch];
  const native = profile.archMap?.find((m) => m.architecture === scmp);
  const architectures = native ? [scmp, ...native.subArchitectures ?? []] : [];
  const wanted = (inc: Filter | undefined, exc: Filter | undefined) => {
    if (inc?.arches?.length && !inc.arches.includes(go)) return false;
    if (inc?.caps?.some((c) => !caps.includes(c))) return false;
    if (exc?.arches?.includes(go)) return false;
    if (exc?.caps?.some((c) => caps.includes(c))) return false;
    // minKernel: denki's kernels are all newer than any the profiles name.
    return true;
  };
  const syscalls = (profile.syscalls ?? [])
    .filter((c) => wanted(c.includes, c.excludes))
    .map((c) => ({
      names: c.names ?? (c.name ? [c.name] : []),
      action: c.action,
      ...(c.errnoRet === undefined ? {} : { errnoRet: c.errnoRet }),
      ...(c.args?.length ? { args: c.args } : {}),
    }));
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet === undefined ? {} : { defaultErrnoRet: profile.defaultErrnoRet }),
    architectures,
    syscalls,
  } as Seccomp;
}
