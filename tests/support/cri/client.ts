/**
 * A small Kubernetes CRI client for the tests: the kubelet's runtime.v1 RuntimeService and
 * ImageService calls over gRPC on a unix socket, on npm's @grpc/grpc-js with denki's own
 * protobuf codec (lib/shim/proto/wire.ts) for the messages (messages.ts). No .proto files, no
 * proto-loader: each call is a `makeUnaryRequest` with our encode/decode.
 * Test support only (it imports npm: and node:): never import it from lib/, executors/, main.ts
 * or bin/.
 */
import * as grpc from "npm:@grpc/grpc-js@1.14.7";
import { Buffer } from "node:buffer";
import { decode, encode, type MessageInit, type Schema } from "../../../lib/shim/proto/wire.ts";
import * as m from "./messages.ts";

/** Per-call options. */
export interface CallOptions {
  /** The call's deadline in milliseconds from now (default: the client's, 60 s unless set). */
  timeoutMs?: number;
}

/** Options of CriClient.connect. */
export interface ConnectOptions {
  /** How long to wait for the socket to accept the connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Every call's default deadline (default 60 s). */
  callTimeoutMs?: number;
}

/** A failed CRI call: the message is `CRI <Method>: <STATUS_NAME>: <details>` on one line. */
export class CriError extends Error {
  override name = "CriError";
  constructor(
    /** The RPC's method name, e.g. "RunPodSandbox". */
    readonly method: string,
    /** The gRPC status code (grpc.status), e.g. 5. */
    readonly code: number,
    /** Its name, e.g. "NOT_FOUND". */
    readonly codeName: string,
    /** The server's details, on one line. */
    readonly details: string,
  ) {
    super(`CRI ${method}: ${codeName}: ${details}`);
  }
}

const RUNTIME = "/runtime.v1.RuntimeService/";
const IMAGE = "/runtime.v1.ImageService/";

/** A gRPC status code's name, e.g. 5 → "NOT_FOUND". */
export function statusName(code: number): string {
  return (grpc.status as unknown as Record<number, string>)[code] ?? `code ${code}`;
}

/** Whitespace runs (newlines included) become one space; long details are cut. */
function oneLine(s: string, max = 600): string {
  const t = s.replace(/\s+/g, " ").trim();
  return t.length > max ? t.slice(0, max) + "..." : t;
}

/** A client of one containerd's CRI plugin (or any CRI runtime) on a unix socket. */
export class CriClient {
  private constructor(
    private readonly client: grpc.Client,
    /** The socket's absolute path. */
    readonly socketPath: string,
    private readonly callTimeoutMs: number,
  ) {}

  /** Connects to `unix://<socketPath>` and waits until the channel is ready. */
  static async connect(socketPath: string, options: ConnectOptions = {}): Promise<CriClient> {
    const path = socketPath.startsWith("/") ? socketPath : `${Deno.cwd()}/${socketPath}`;
    const client = new grpc.Client(`unix://${path}`, grpc.credentials.createInsecure(), {
      // ExecSync returns whole outputs in one message; grpc's default cap is 4 MiB.
      "grpc.max_receive_message_length": 64 << 20,
    });
    const wait = options.connectTimeoutMs ?? 10_000;
    try {
      await new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + wait, (err) => err ? reject(err) : resolve())
      );
    } catch (e) {
      client.close();
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(`CRI connect ${path}: ${oneLine(why)}`);
    }
    return new CriClient(client, path, options.callTimeoutMs ?? 60_000);
  }

  /** Closes the channel; calls in flight fail with CANCELLED. */
  close(): void {
    this.client.close();
  }

  /** One unary call: encodes `req` as `reqSchema`, decodes the reply as `resSchema`. */
  async call<Req, Res>(
    path: string,
    reqSchema: Schema<Req>,
    resSchema: Schema<Res>,
    req: MessageInit<Req>,
    opts: CallOptions = {},
  ): Promise<Res> {
    const method = path.slice(path.lastIndexOf("/") + 1);
    let body: Uint8Array;
    try {
      body = encode(reqSchema, req); // before the call, so a bad value is our error, not INTERNAL
    } catch (e) {
      throw new Error(`CRI ${method}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const deadline = Date.now() + (opts.timeoutMs ?? this.callTimeoutMs);
    return await new Promise<Res>((resolve, reject) => {
      this.client.makeUnaryRequest<Uint8Array, Res>(
        path,
        (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
        // A plain Uint8Array view, so bytes fields are copies, not windows into grpc's buffer.
        (b) => decode(resSchema, new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
        body,
        new grpc.Metadata(),
        { deadline },
        (err, value) => {
          if (err) {
            reject(new CriError(method, err.code, statusName(err.code), oneLine(err.details)));
          } else resolve(value as Res);
        },
      );
    });
  }

  // --- RuntimeService ---------------------------------------------------------------------

  /** Version: the runtime's name and versions. */
  version(req: MessageInit<m.VersionRequest> = { version: "v1" }, opts?: CallOptions) {
    return this.call(RUNTIME + "Version", m.VersionRequest, m.VersionResponse, req, opts);
  }

  /** Status: the RuntimeReady/NetworkReady conditions (and JSON info with verbose). */
  status(req: MessageInit<m.StatusRequest> = {}, opts?: CallOptions) {
    return this.call(RUNTIME + "Status", m.StatusRequest, m.StatusResponse, req, opts);
  }

  /** RunPodSandbox: creates and starts a pod sandbox; resolves to its id. */
  async runPodSandbox(req: MessageInit<m.RunPodSandboxRequest>, opts?: CallOptions) {
    const p = RUNTIME + "RunPodSandbox";
    return (await this.call(p, m.RunPodSandboxRequest, m.PodSandboxRef, req, opts)).podSandboxId;
  }

  /** StopPodSandbox: stops the sandbox and every container in it. */
  async stopPodSandbox(podSandboxId: string, opts?: CallOptions): Promise<void> {
    const p = RUNTIME + "StopPodSandbox";
    await this.call(p, m.PodSandboxRef, m.Empty, { podSandboxId }, opts);
  }

  /** RemovePodSandbox: removes a (stopped) sandbox and its containers. */
  async removePodSandbox(podSandboxId: string, opts?: CallOptions): Promise<void> {
    const p = RUNTIME + "RemovePodSandbox";
    await this.call(p, m.PodSandboxRef, m.Empty, { podSandboxId }, opts);
  }

  /** PodSandboxStatus. */
  podSandboxStatus(req: MessageInit<m.PodSandboxStatusRequest>, opts?: CallOptions) {
    const p = RUNTIME + "PodSandboxStatus";
    return this.call(p, m.PodSandboxStatusRequest, m.PodSandboxStatusResponse, req, opts);
  }

  /** ListPodSandbox, optionally filtered; resolves to the items. */
  async listPodSandbox(req: MessageInit<m.ListPodSandboxRequest> = {}, opts?: CallOptions) {
    const p = RUNTIME + "ListPodSandbox";
    return (await this.call(p, m.ListPodSandboxRequest, m.ListPodSandboxResponse, req, opts))
      .items;
  }

  /** CreateContainer in a sandbox; resolves to the container's id. */
  async createContainer(req: MessageInit<m.CreateContainerRequest>, opts?: CallOptions) {
    const p = RUNTIME + "CreateContainer";
    return (await this.call(p, m.CreateContainerRequest, m.ContainerRef, req, opts)).containerId;
  }

  /** StartContainer. */
  async startContainer(containerId: string, opts?: CallOptions): Promise<void> {
    const p = RUNTIME + "StartContainer";
    await this.call(p, m.ContainerRef, m.Empty, { containerId }, opts);
  }

  /** StopContainer: SIGTERM, then SIGKILL after `timeoutSeconds` (0: at once). */
  async stopContainer(containerId: string, timeoutSeconds = 0, opts?: CallOptions): Promise<void> {
    const p = RUNTIME + "StopContainer";
    const req = { containerId, timeout: BigInt(timeoutSeconds) };
    await this.call(p, m.StopContainerRequest, m.Empty, req, opts);
  }

  /** RemoveContainer (a running one is killed first). */
  async removeContainer(containerId: string, opts?: CallOptions): Promise<void> {
    const p = RUNTIME + "RemoveContainer";
    await this.call(p, m.ContainerRef, m.Empty, { containerId }, opts);
  }

  /** ListContainers, optionally filtered; resolves to the containers. */
  async listContainers(req: MessageInit<m.ListContainersRequest> = {}, opts?: CallOptions) {
    const p = RUNTIME + "ListContainers";
    return (await this.call(p, m.ListContainersRequest, m.ListContainersResponse, req, opts))
      .containers;
  }

  /** ContainerStatus. */
  containerStatus(req: MessageInit<m.ContainerStatusRequest>, opts?: CallOptions) {
    const p = RUNTIME + "ContainerStatus";
    return this.call(p, m.ContainerStatusRequest, m.ContainerStatusResponse, req, opts);
  }

  /**
   * ExecSync: runs `cmd` in the container and collects its output. The call's deadline is at
   * least the exec's own timeout (req.timeout, seconds) plus 10 s.
   */
  execSync(req: MessageInit<m.ExecSyncRequest>, opts: CallOptions = {}) {
    const execMs = Number(req.timeout ?? 0n) * 1000;
    const timeoutMs = Math.max(opts.timeoutMs ?? this.callTimeoutMs, execMs + 10_000);
    const p = RUNTIME + "ExecSync";
    return this.call(p, m.ExecSyncRequest, m.ExecSyncResponse, req, { timeoutMs });
  }

  // --- ImageService -----------------------------------------------------------------------

  /** ListImages, optionally filtered; resolves to the images. */
  async listImages(req: MessageInit<m.ListImagesRequest> = {}, opts?: CallOptions) {
    const p = IMAGE + "ListImages";
    return (await this.call(p, m.ListImagesRequest, m.ListImagesResponse, req, opts)).images;
  }

  /** ImageStatus: `image` is absent from the response when the runtime does not have it. */
  imageStatus(req: MessageInit<m.ImageStatusRequest>, opts?: CallOptions) {
    const p = IMAGE + "ImageStatus";
    return this.call(p, m.ImageStatusRequest, m.ImageStatusResponse, req, opts);
  }

  /** RemoveImage by reference (name or id). */
  async removeImage(image: string, opts?: CallOptions): Promise<void> {
    const p = IMAGE + "RemoveImage";
    await this.call(p, m.RemoveImageRequest, m.Empty, { image: { image } }, opts);
  }

  /** PullImage (needs a registry; the tests have no network and import images instead). */
  async pullImage(req: MessageInit<m.PullImageRequest>, opts?: CallOptions) {
    const p = IMAGE + "PullImage";
    return (await this.call(p, m.PullImageRequest, m.PullImageResponse, req, opts)).imageRef;
  }
}
