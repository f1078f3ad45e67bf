/** Fixtures for state tests. */
import type { ContainerRecord, CreatingRecord } from "./record.ts";

/** A record as `create` would write it. */
export function sampleRecord(id = "c1"): ContainerRecord {
  return {
    ociVersion: "1.3.0",
    id,
    pid: 4242,
    pidStartTime: 777,
    status: "running",
    bundle: "/b",
    rootfs: "/b/rootfs",
    created: "2026-11-28T01:02:03.123456789Z",
    owner: "root",
    annotations: {},
  };
}

/** A creating record as `create` writes it before it makes anything. */
export function sampleCreating(id = "c1"): CreatingRecord {
  return {
    id,
    bundle: "/b",
    rootfs: "/b/rootfs",
    created: "2026-11-28T01:02:03.123456789Z",
    owner: "root",
    creatorPid: 4241,
    creatorStartTime: 776,
    pid: 0,
    pidStartTime: 0,
  };
}
