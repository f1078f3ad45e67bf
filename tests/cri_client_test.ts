/**
 * The tests' CRI client against a real CRI server, the harness's node (containerd's CRI plugin
 * in private mount and network namespaces): the transport (grpc-js under Deno over a unix
 * socket), the codec on real replies (Version, Status, the images the harness imported, no
 * pods) and the error form of a failed call.
 */
import assert from "node:assert/strict";
import { CriError } from "./support/cri/client.ts";
import { testWith } from "./support/requires.ts";
import { CRI_REQS, withCriNode } from "./support/cri/node.ts";
import { BUSYBOX_IMAGE, PAUSE_IMAGE, WASM_IMAGE } from "./support/containerd.ts";

testWith(
  "CRI client: Version, Status, images, and a NOT_FOUND as one line",
  CRI_REQS,
  () =>
    withCriNode(async (node) => {
      const v = await node.cri.version();
      assert.equal(v.runtimeName, "containerd");
      assert.equal(v.runtimeApiVersion, "v1");
      assert.match(v.runtimeVersion, /^1\.6\./);

      // Both ready: the runtime, and the network (the harness's CNI bridge config).
      const conditions = (await node.cri.status()).status?.conditions ?? [];
      const cond = Object.fromEntries(conditions.map((c) => [c.type, c]));
      assert.equal(cond["RuntimeReady"]?.status, true);
      assert.equal(cond["NetworkReady"]?.status, true, JSON.stringify(cond["NetworkReady"]));

      assert.deepEqual(await node.cri.listPodSandbox(), []);
      const tags = (await node.cri.listImages()).flatMap((i) => i.repoTags).sort();
      assert.deepEqual(tags, [BUSYBOX_IMAGE, PAUSE_IMAGE, WASM_IMAGE].sort());
      const pause = await node.cri.imageStatus({ image: { image: PAUSE_IMAGE } });
      assert.deepEqual(pause.image?.repoTags, [PAUSE_IMAGE]);

      const err = await node.cri.containerStatus({ containerId: "denki-no-such-container" })
        .then(() => undefined, (e) => e);
      assert.ok(err instanceof CriError, `not a CriError: ${err}`);
      assert.equal(err.codeName, "NOT_FOUND");
      assert.match(err.message, /^CRI ContainerStatus: NOT_FOUND: .*denki-no-such-container/);
      assert.doesNotMatch(err.message, /\n/);
    }),
);
