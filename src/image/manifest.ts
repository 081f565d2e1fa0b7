/**
 * From a reference to an image's config and layers: index.json → (an index
 * by platform) → manifest → config (OCI image layout, image-spec
 * image-layout.md), or docker's manifest.json. Every blob read here is
 * verified against its descriptor.
 */
import { BuncError } from "../errors";
import { readAll, readVerified, parseDigest } from "./blob";
import type { ImageReference } from "./reference";
import { archiveSource, directorySource, type ImageSource } from "./source";

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** The parts of an image config (image-spec config.md) a runtime config is made from. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  rootfs?: { type?: string; diff_ids?: string[] };
}

export interface Layer {
  /** The digest of the uncompressed layer (config rootfs.diff_ids): the cache's key. */
  diffId: string;
  /** The blob's digest and size when the format records them (docker's layer.tar names have neither). */
  digest?: string;
  size?: number;
  /** Where the blob is in the source. */
  file: string;
}

export interface Image {
  source: ImageSource;
  /** The config blob's digest: the image's id. */
  id: string;
  config: ImageConfig;
  layers: Layer[];
}

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);
const REF_NAME = "org.opencontainers.image.ref.name";
/** The platform this bunc runs containers for (x86_64 only, as its executor). */
const PLATFORM = { os: "linux", architecture: "amd64" };

function parse<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new BuncError(`${what}: not JSON: ${(e as Error).message}`, { code: "EINVAL", cause: e });
  }
}

function blobFile(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

async function readBlob<T>(src: ImageSource, d: Descriptor, what: string): Promise<T> {
  if (typeof d?.digest !== "string" || typeof d.size !== "number") throw new BuncError(`${what}: invalid descriptor`, { code: "EINVAL" });
  const file = blobFile(d.digest);
  if (src.size(file) === undefined) throw new BuncError(`${what} ${d.digest}: blob missing from the image`, { code: "ENOENT" });
  return parse<T>(await readVerified(src.stream(file), `${what} ${d.digest}`, d.digest, d.size), what);
}

function chooseManifest(ref: ImageReference, manifests: Descriptor[], where: string): Descriptor {
  if (!Array.isArray(manifests) || manifests.length === 0) throw new BuncError(`${where}: no manifests`, { code: "EINVAL" });
  if (ref.tag !== undefined) {
    // The exact name first; then "app:1" for the "localhost/app:1" podman writes.
    let hit = manifests.filter((m) => m.annotations?.[REF_NAME] === ref.tag);
    if (hit.length === 0) hit = manifests.filter((m) => m.annotations?.[REF_NAME]?.endsWith(`/${ref.tag}`));
    if (hit.length === 0) throw new BuncError(`${where}: no image tagged ${JSON.stringify(ref.tag)}`, { code: "ENOENT" });
    return hit[0]!;
  }
  if (manifests.length > 1) {
    const tags = manifests.map((m) => m.annotations?.[REF_NAME]).filter(Boolean);
    throw new BuncError(`${where}: ${manifests.length} images; name one with :TAG${tags.length ? ` (${tags.join(", ")})` : ""}`, { code: "EINVAL" });
  }
  return manifests[0]!;
}

function byPlatform(manifests: Descriptor[], where: string): Descriptor {
  const hit = manifests.find((m) => m.platform?.os === PLATFORM.os && m.platform?.architecture === PLATFORM.architecture);
  if (!hit) throw new BuncError(`${where}: no image for ${PLATFORM.os}/${PLATFORM.architecture}`, { code: "ENOENT" });
  return hit;
}

async function ociImage(ref: ImageReference, src: ImageSource): Promise<Image> {
  if (src.size("index.json") === undefined) throw new BuncError(`${ref.path}: not an OCI image layout (no index.json)`, { code: "EINVAL" });
  const index = parse<{ manifests: Descriptor[] }>(await readAll(src.stream("index.json"), "index.json"), "index.json");
  let d = chooseManifest(ref, index.manifests, `${ref.path}`);
  // An index (a multi-platform image) is followed by platform, at most a few levels deep.
  for (let depth = 0; d.mediaType !== undefined && INDEX_TYPES.has(d.mediaType); depth++) {
    if (depth > 4) throw new BuncError(`${ref.path}: image indexes nested too deep`, { code: "EINVAL" });
    const nested = await readBlob<{ manifests: Descriptor[] }>(src, d, "image index");
    d = byPlatform(nested.manifests ?? [], `image index ${d.digest}`);
  }
  const manifest = await readBlob<{ config: Descriptor; layers: Descriptor[] }>(src, d, "image manifest");
  const config = await readBlob<ImageConfig>(src, manifest.config, "image config");
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = manifest.layers ?? [];
  if (diffIds.length !== layers.length) throw new BuncError(`image config ${manifest.config.digest}: ${diffIds.length} diff_ids for ${layers.length} layers`, { code: "EINVAL" });
  return {
    source: src,
    id: manifest.config.digest,
    config,
    layers: layers.map((l, i) => ({ diffId: diffIds[i]!, digest: l.digest, size: l.size, file: blobFile(l.digest) })),
  };
}

async function dockerImage(ref: ImageReference, src: ImageSource): Promise<Image> {
  if (src.size("manifest.json") === undefined) throw new BuncError(`${ref.path}: not a docker archive (no manifest.json)`, { code: "EINVAL" });
  const all = parse<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(await readAll(src.stream("manifest.json"), "manifest.json"), "manifest.json");
  if (!Array.isArray(all) || all.length === 0) throw new BuncError(`${ref.path}: manifest.json lists no image`, { code: "EINVAL" });
  let m = all[0]!;
  if (ref.tag?.startsWith("@")) {
    m = all[Number(ref.tag.slice(1))]!;
    if (!m) throw new BuncError(`${ref.path}: no image ${ref.tag}`, { code: "ENOENT" });
  } else if (ref.tag !== undefined) {
    const want = ref.tag;
    const hit = all.find((x) => (x.RepoTags ?? []).some((t) => t === want || t === `localhost/${want}` || t === `docker.io/library/${want}`));
    if (!hit) throw new BuncError(`${ref.path}: no image tagged ${JSON.stringify(want)}`, { code: "ENOENT" });
    m = hit;
  } else if (all.length > 1) throw new BuncError(`${ref.path}: ${all.length} images; name one with :REF or :@N`, { code: "EINVAL" });
  // The config's name is its digest's hex (docker save), or a blobs/sha256/HEX path (newer docker save).
  const hex = /([0-9a-f]{64})(\.json)?$/.exec(m.Config)?.[1];
  if (!hex) throw new BuncError(`${ref.path}: config name ${JSON.stringify(m.Config)} is no digest`, { code: "EINVAL" });
  const id = `sha256:${hex}`;
  const size = src.size(m.Config);
  if (size === undefined) throw new BuncError(`${ref.path}: config ${m.Config} missing`, { code: "ENOENT" });
  const config = parse<ImageConfig>(await readVerified(src.stream(m.Config), `image config ${m.Config}`, id, size), "image config");
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== m.Layers.length) throw new BuncError(`image config ${id}: ${diffIds.length} diff_ids for ${m.Layers.length} layers`, { code: "EINVAL" });
  return {
    source: src,
    id,
    config,
    layers: m.Layers.map((file, i) => {
      if (src.size(file) === undefined) throw new BuncError(`${ref.path}: layer ${file} missing`, { code: "ENOENT" });
      return { diffId: diffIds[i]!, file };
    }),
  };
}

/** Open the image a reference names; the caller closes image.source. */
export async function openImage(ref: ImageReference): Promise<Image> {
  const src = ref.transport === "oci" ? directorySource(ref.path) : archiveSource(ref.path);
  try {
    const image = ref.transport === "docker-archive" ? await dockerImage(ref, src) : await ociImage(ref, src);
    for (const l of image.layers) parseDigest(l.diffId);
    return image;
  } catch (e) {
    src.close();
    throw e;
  }
}
