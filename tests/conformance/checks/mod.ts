/** Every conformance check, grouped by the part of the spec it comes from. */
import type { Check } from "../runtime.ts";
import { filesystemChecks } from "./filesystem.ts";
import { hookChecks } from "./hooks.ts";
import { hostileChecks } from "./hostile.ts";
import { lifecycleChecks } from "./lifecycle.ts";
import { linuxChecks } from "./linux.ts";
import { processChecks } from "./process.ts";
import { resourceChecks } from "./resources.ts";
import { stateChecks } from "./state.ts";

/** All checks, in report order. */
export const CHECKS: readonly Check[] = [
  ...stateChecks,
  ...lifecycleChecks,
  ...processChecks,
  ...filesystemChecks,
  ...linuxChecks,
  ...resourceChecks,
  ...hookChecks,
  ...hostileChecks,
];
