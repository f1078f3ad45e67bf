/** Test support: a stand-in executor for the executor and registry unit tests. */
import { type Executor, specEnv } from "./executor.ts";
import type { Spec } from "./spec/config.ts";

/** A stand-in executor: handles a spec when `can` says so; never runs anything. */
export function fakeExecutor(
  name: string,
  can: (spec: Spec, rootfs: string) => boolean,
): Executor {
  return {
    name,
    canHandle: can,
    validate: () => {},
    handleEnvs: specEnv,
    exec: () => Promise.reject(new Error("not run in this test")),
  };
}
