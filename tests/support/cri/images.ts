/**
 * The Kubernetes CRI (package runtime.v1) image service's requests and responses, as schemas for
 * denki's own protobuf codec (lib/shim/proto/wire.ts); messages.ts re-exports them. Field
 * numbers follow the cri-api that containerd v1.6.20 vendors. PullImage is here for
 * completeness: the tests have no network and import their images instead.
 * Test support only: never import this from lib/, executors/, main.ts or bin/.
 */
import { bool, map, message, msg, rep, str, u64 } from "../../../lib/shim/proto/fields.ts";
import type { Schema } from "../../../lib/shim/proto/wire.ts";
import { ImageSpec, Int64Value, PodSandboxConfig } from "./config.ts";

const P = "runtime.v1.";

/** runtime.v1.Image. */
export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: bigint;
  uid?: Int64Value | undefined;
  username: string;
  spec?: ImageSpec | undefined;
  pinned: boolean;
}
export const Image: Schema<Image> = message(P + "Image", [
  str(1, "id"),
  rep(str(2, "repoTags")),
  rep(str(3, "repoDigests")),
  u64(4, "size"),
  msg(5, "uid", () => Int64Value),
  str(6, "username"),
  msg(7, "spec", () => ImageSpec),
  bool(8, "pinned"),
]);

/** ListImagesRequest (filter = ImageFilter {image}), ImageStatusRequest, RemoveImageRequest. */
export interface ListImagesRequest {
  filter?: { image?: ImageSpec | undefined } | undefined;
}
const ImageFilter: Schema<{ image?: ImageSpec | undefined }> = message(P + "ImageFilter", [
  msg(1, "image", () => ImageSpec),
]);
export const ListImagesRequest: Schema<ListImagesRequest> = message(P + "ListImagesRequest", [
  msg(1, "filter", () => ImageFilter),
]);

export interface ListImagesResponse {
  images: Image[];
}
export const ListImagesResponse: Schema<ListImagesResponse> = message(P + "ListImagesResponse", [
  rep(msg(1, "images", () => Image)),
]);

export interface ImageStatusRequest {
  image?: ImageSpec | undefined;
  verbose: boolean;
}
export const ImageStatusRequest: Schema<ImageStatusRequest> = message(
  P + "ImageStatusRequest",
  [msg(1, "image", () => ImageSpec), bool(2, "verbose")],
);

export interface ImageStatusResponse {
  /** Absent when the image is not there (the RPC itself succeeds). */
  image?: Image | undefined;
  info: Record<string, string>;
}
export const ImageStatusResponse: Schema<ImageStatusResponse> = message(
  P + "ImageStatusResponse",
  [msg(1, "image", () => Image), map(2, "info")],
);

export interface RemoveImageRequest {
  image?: ImageSpec | undefined;
}
export const RemoveImageRequest: Schema<RemoveImageRequest> = message(
  P + "RemoveImageRequest",
  [msg(1, "image", () => ImageSpec)],
);

/** runtime.v1.AuthConfig. */
export interface AuthConfig {
  username: string;
  password: string;
  auth: string;
  serverAddress: string;
  identityToken: string;
  registryToken: string;
}
export const AuthConfig: Schema<AuthConfig> = message(P + "AuthConfig", [
  str(1, "username"),
  str(2, "password"),
  str(3, "auth"),
  str(4, "serverAddress"),
  str(5, "identityToken"),
  str(6, "registryToken"),
]);

export interface PullImageRequest {
  image?: ImageSpec | undefined;
  auth?: AuthConfig | undefined;
  sandboxConfig?: PodSandboxConfig | undefined;
}
export const PullImageRequest: Schema<PullImageRequest> = message(P + "PullImageRequest", [
  msg(1, "image", () => ImageSpec),
  msg(2, "auth", () => AuthConfig),
  msg(3, "sandboxConfig", () => PodSandboxConfig),
]);

export interface PullImageResponse {
  imageRef: string;
}
export const PullImageResponse: Schema<PullImageResponse> = message(P + "PullImageResponse", [
  str(1, "imageRef"),
]);
