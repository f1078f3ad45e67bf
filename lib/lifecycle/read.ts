/** Reading a container's record and live status, as most commands start. */
import { currentStatus } from "../state/proc.ts";
import type { ContainerRecord } from "../state/record.ts";
import type { ContainerStatus } from "../state/status.ts";
import { StateStore } from "../state/store.ts";

/**
 * Container `id`'s record, live status and state directory, read with a store of its own that
 * is closed again: the shim calls the lifecycle for as long as it lives, so no descriptor may
 * stay open.
 */
export function readContainer(
  root: string,
  id: string,
): { rec: ContainerRecord; status: ContainerStatus; dir: string } {
  const store = new StateStore(root);
  try {
    const rec = store.read(id);
    const dir = store.dirOf(id);
    return { rec, status: currentStatus(rec, dir), dir };
  } finally {
    store.close();
  }
}
