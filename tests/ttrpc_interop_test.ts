/**
 * Our ttrpc client and protobuf codec against a Go peer: containerd 1.6's own ttrpc server
 * (`<address>.ttrpc`), the one a shim publishes events to. A TaskExit forwarded there must come
 * out of `ctr events` decoded by Go with every field; Go's error statuses must come back to us.
 */
import assert from "node:assert/strict";
import { Containerd } from "./support/containerd.ts";
import { program, root, testWith } from "./support/requires.ts";
import { Code, TtrpcClient, TtrpcError } from "../lib/shim/ttrpc.ts";
import { decode, encode } from "../lib/shim/proto/wire.ts";
import { Empty, eventForward, EVENTS_SERVICE, ForwardRequest } from "../lib/shim/proto/messages.ts";

const REQS = [root(), program("containerd"), program("ctr"), program("unshare")];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

testWith(
  "ttrpc interop: containerd's Events.Forward takes our TaskExit; ctr events shows it",
  REQS,
  async () => {
    const c = new Containerd();
    let events: Deno.ChildProcess | undefined;
    let client: TtrpcClient | undefined;
    try {
      await c.start("runc");
      client = await TtrpcClient.connect(`${c.socket}.ttrpc`);
      events = new Deno.Command("ctr", {
        args: ["-a", c.socket, "events"],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let out = "";
      const reading = (async () => {
        const td = new TextDecoder();
        for await (const chunk of events.stdout) out += td.decode(chunk, { stream: true });
      })();
      const forward = async (req: ForwardRequest) =>
        decode(
          Empty,
          await client!.call(EVENTS_SERVICE, "Forward", encode(ForwardRequest, req), 5000),
        );

      // ctr subscribes asynchronously: forward a probe until it shows, so the real event cannot be missed.
      const end = Date.now() + 15_000;
      while (!out.includes("probe-oom")) {
        assert.ok(
          Date.now() < end,
          `ctr events never showed the probe; output: ${out.slice(0, 200)}`,
        );
        await forward(eventForward("TaskOOM", c.ns, { containerId: "probe-oom" }));
        await sleep(100);
      }

      const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
      const exit = eventForward("TaskExit", c.ns, {
        containerId: "interop-c1",
        id: "exec-ü",
        pid: 4242,
        exitStatus: 137,
        exitedAt: { seconds: 1_700_000_000n, nanos: 123_456_789 },
      }, at);
      assert.deepEqual(await forward(exit), {});
      while (!out.includes("interop-c1")) {
        assert.ok(
          Date.now() < end,
          `ctr events never showed the TaskExit; output: ${out.slice(0, 400)}`,
        );
        await sleep(50);
      }
      const line = out.split("\n").find((l) => l.includes("interop-c1"))!;
      // Go printed the envelope: its timestamp, namespace and topic, then the event as JSON.
      assert.ok(line.startsWith(`2024-01-02 03:04:05.678 +0000 UTC ${c.ns} /tasks/exit `), line);
      const json = JSON.parse(line.slice(line.indexOf("{")));
      assert.deepEqual(json, {
        container_id: "interop-c1",
        id: "exec-ü",
        pid: 4242,
        exit_status: 137,
        exited_at: "2023-11-14T22:13:20.123456789Z",
      });

      // Go's statuses come back as TtrpcErrors: containerd refuses an envelope without a timestamp,
      const noTime: ForwardRequest = { envelope: { ...exit.envelope!, timestamp: undefined } };
      await assert.rejects(forward(noTime), (e: unknown) => {
        assert.ok(e instanceof TtrpcError, String(e));
        assert.equal(e.code, Code.INVALID_ARGUMENT);
        assert.match(e.message, /timestamp must be set/);
        return true;
      });
      // and Go's ttrpc server answers an unknown method and service the way ours does.
      for (
        const [svc, method, msg] of [[EVENTS_SERVICE, "Nope", "method Nope"], [
          "no.Such",
          "X",
          "service no.Such",
        ]]
      ) {
        await assert.rejects(client.call(svc!, method!, new Uint8Array()), (e: unknown) => {
          assert.ok(e instanceof TtrpcError, String(e));
          assert.deepEqual([e.code, e.message], [Code.UNIMPLEMENTED, msg]);
          return true;
        });
      }
      events.kill("SIGTERM");
      await events.status;
      await reading;
      events = undefined;
    } finally {
      client?.close();
      if (events !== undefined) {
        events.kill("SIGKILL");
        await events.status;
        await events.stdout.cancel().catch(() => {});
      }
      const left = await c.stop();
      assert.deepEqual(left, [], "containerd left nothing behind");
    }
  },
);
