import assert from "node:assert/strict";
import { canConnect, groupOf, socketAddress } from "./start.ts";

const SANDBOX = "io.kubernetes.cri.sandbox-id";

Deno.test("start: groupOf is the pod's sandbox id, else the container's own id", () => {
  const config = (annotations: unknown) => JSON.stringify({ ociVersion: "1.0.2", annotations });
  assert.equal(groupOf("c1", config({ [SANDBOX]: "pod-a", other: "x" })), "pod-a");
  assert.equal(groupOf("c1", undefined), "c1", "no config.json");
  assert.equal(groupOf("c1", JSON.stringify({ ociVersion: "1.0.2" })), "c1", "no annotations");
  assert.equal(groupOf("c1", config({})), "c1", "no sandbox annotation");
  assert.equal(groupOf("c1", config({ "io.kubernetes.cri.sandbox-name": "p" })), "c1");
  assert.equal(groupOf("c1", config(null)), "c1");
  assert.equal(groupOf("c1", config(["pod-a"])), "c1");
  assert.equal(groupOf("c1", config("pod-a")), "c1");
  assert.equal(groupOf("c1", config({ [SANDBOX]: "" })), "c1", "empty sandbox id");
  for (const bad of [42, true, null, ["pod-a"], { id: "pod-a" }]) {
    assert.equal(groupOf("c1", config({ [SANDBOX]: bad })), "c1", JSON.stringify(bad));
  }
  for (const malformed of ["", "{", '{"annotations":', "null", "7", '"text"', "[]"]) {
    assert.equal(groupOf("c1", malformed), "c1", JSON.stringify(malformed));
  }
});

/** The expected address, computed here without start.ts's code. */
async function expected(key: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  let hex = "";
  for (const b of d) hex += (b < 16 ? "0" : "") + b.toString(16);
  return "unix:///run/containerd/s/" + hex;
}

Deno.test("start: socketAddress is unix:///run/containerd/s/ and the sha256 of address/ns/group", async () => {
  const sock = "/run/containerd/containerd.sock";
  const a = await socketAddress(sock, "k8s.io", "pod-a");
  assert.match(a, /^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
  assert.equal(a, await expected("/run/containerd/containerd.sock/k8s.io/pod-a"));
  // Stable.
  assert.equal(await socketAddress(sock, "k8s.io", "pod-a"), a);
  // Different namespace, group or containerd: a different socket.
  const others = [
    await socketAddress(sock, "default", "pod-a"),
    await socketAddress(sock, "k8s.io", "pod-b"),
    await socketAddress("/run/other/containerd.sock", "k8s.io", "pod-a"),
  ];
  assert.equal(new Set([a, ...others]).size, 4);
  // Repeated slashes are collapsed before hashing, so a trailing or doubled one changes nothing.
  assert.equal(await socketAddress("/run/containerd//containerd.sock/", "k8s.io", "pod-a"), a);
  assert.equal(
    await socketAddress("//x///y", "ns", "g"),
    await expected("/x/y/ns/g"),
  );
});

Deno.test("start: canConnect is true only while something listens on the socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denki-start-" });
  try {
    const path = `${dir}/live.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    const accepted = listener.accept().then((c) => c.close());
    try {
      assert.equal(await canConnect(path), true);
      await accepted;
    } finally {
      listener.close();
    }
    // A socket file nobody listens on (its daemon died): a hard link to a listening socket
    // outlives the listener, which Deno unlinks at close.
    const stale = `${dir}/stale.sock`;
    const dead = Deno.listen({ transport: "unix", path: `${dir}/dead.sock` });
    Deno.linkSync(`${dir}/dead.sock`, stale);
    dead.close();
    assert.equal(Deno.lstatSync(stale).isSocket, true);
    assert.equal(await canConnect(stale), false);
    assert.equal(await canConnect(`${dir}/missing.sock`), false);
    // A regular file is no socket either.
    Deno.writeTextFileSync(`${dir}/file`, "");
    assert.equal(await canConnect(`${dir}/file`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
