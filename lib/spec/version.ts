/** The ociVersion values denki accepts: SemVer 2.0.0, runtime-spec 1.0.x to 1.3.x. */
import { quote, type SpecIssue } from "../errors.ts";

/** A parsed SemVer version (pre-release and build parts kept as text). */
export interface Semver {
  major: number;
  minor: number;
  patch: number;
  prerelease: string;
  build: string;
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** Parses a SemVer 2.0.0 string; undefined when it is not one. */
export function parseSemver(text: string): Semver | undefined {
  const m = SEMVER.exec(text);
  if (m === null) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4] ?? "",
    build: m[5] ?? "",
  };
}

/** Oldest and newest runtime-spec minor versions denki implements (1.0 to 1.3). */
export const MIN_MINOR = 0;
export const MAX_MINOR = 3;

/** The problem with an ociVersion, or undefined when denki accepts it. */
export function checkOciVersion(text: string): SpecIssue | undefined {
  const v = parseSemver(text);
  if (v === undefined) {
    return {
      path: "ociVersion",
      message: `${quote(text)} is not a SemVer version like "1.2.0"`,
    };
  }
  if (v.major !== 1 || v.minor < MIN_MINOR || v.minor > MAX_MINOR) {
    return {
      path: "ociVersion",
      message: `${quote(text)} is not supported (denki accepts 1.0.x to 1.3.x)`,
    };
  }
  return undefined;
}
