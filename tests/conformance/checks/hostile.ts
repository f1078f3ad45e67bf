/**
 * The hostile configurations of issue 12 (tests/support/hostile.ts) as conformance checks: under
 * each, the lifecycle, `run`, `run -d`, `exec`, `exec -d` and `exec -t` run their workload, and
 * the workload itself reports the configuration it got. tests/hostile_matrix_test.ts runs the
 * same checks one cell at a time.
 */
import { CONFIGS, type Hostile, hostileReqs, LINUX_CHECKS } from "../../support/hostile.ts";
import { type Check, withScratch } from "../runtime.ts";

function describe(h: Hostile): string {
  const parts = [
    h.profile === "tight"
      ? "a tight allowlist profile without close_range"
      : h.profile
      ? "podman's default seccomp profile"
      : "",
    h.profile ? (h.nnp ? "with noNewPrivileges" : "without noNewPrivileges") : "",
    h.rlimits ? "RLIMIT_AS 1 GiB, RLIMIT_NOFILE 64, RLIMIT_NPROC 50" : "",
  ];
  return parts.filter(Boolean).join(", ");
}

function check(h: Hostile): Check {
  return {
    id: `hostile.${h.name}`,
    section: h.profile ? "config-linux.md#seccomp" : "config.md#posix-process",
    requirement: `under ${describe(h)}: lifecycle, run, run -d, exec, exec -d and exec -t ` +
      "run their workloads, which see the configuration",
    needs: () => hostileReqs(h)[0],
    run: async (rt) => {
      for (const [name, fn] of Object.entries(LINUX_CHECKS)) {
        try {
          await withScratch(rt, (s) => fn(rt, s, h));
        } catch (e) {
          // The table shows one line: name the part that failed.
          throw new Error(`${name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    },
  };
}

/** One check per hostile configuration. */
export const hostileChecks: Check[] = CONFIGS.map(check);
