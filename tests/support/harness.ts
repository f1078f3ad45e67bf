/** Running a test against a started caller (containerd, podman) that must leave nothing behind. */

/** A started service a test drives; `stop` cleans up and lists what was left behind. */
export interface Harness {
  stop(): Promise<string[]>;
}

/**
 * Runs `fn` with the harness `start` made, and always stops it. A test that failed keeps its
 * own error (a failing cleanup is only logged); one that passed but left something behind
 * fails with the list.
 */
export async function withHarness<H extends Harness>(
  name: string,
  start: () => Promise<H>,
  fn: (h: H) => Promise<void>,
): Promise<void> {
  let h: H | undefined;
  try {
    h = await start();
    await fn(h);
  } catch (err) {
    try {
      await h?.stop();
    } catch (cleanup) {
      console.error(`${name} harness: cleanup after a failure failed too: ${cleanup}`);
    }
    throw err;
  }
  const left = await h.stop();
  if (left.length > 0) throw new Error(`${name} test left things behind: ${left.join(", ")}`);
}
