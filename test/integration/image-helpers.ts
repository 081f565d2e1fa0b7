/**
 * Images for the image tests: hand-made OCI layouts (hostile ones too), with
 * a small ustar writer, and real ones built by a private podman.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";

export interface TarSpec {
  name: string;
  type?: "file" | "dir" | "symlink" | "hardlink";
  body?: string;
  linkname?: string;
  mode?: number;
}

function field(b: Uint8Array, at: number, len: number, value: string): void {
  b.set(new TextEncoder().encode(value).subarray(0, len), at);
}

const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0");

/** A ustar archive of entries (names under 100 bytes). */
export function makeTar(entries: TarSpec[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const body = new TextEncoder().encode(e.body ?? "");
    const type = e.type ?? "file";
    const h = new Uint8Array(512);
    field(h, 0, 100, e.name);
    field(h, 100, 8, octal(e.mode ?? (type === "dir" ? 0o755 : 0o644), 8));
    field(h, 108, 8, octal(0, 8));
    field(h, 116, 8, octal(0, 8));
    field(h, 124, 12, octal(type === "file" ? body.length : 0, 12));
    field(h, 136, 12, octal(1700000000, 12));
    field(h, 156, 1, { file: "0", hardlink: "1", symlink: "2", dir: "5" }[type]);
    field(h, 157, 100, e.linkname ?? "");
    field(h, 257, 6, "ustar");
    field(h, 263, 2, "00");
    field(h, 148, 8, "        ");
    let sum = 0;
    for (const x of h) sum += x;
    field(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
    parts.push(h);
    if (type === "file") {
      parts.push(body);
      parts.push(new Uint8Array((512 - (body.length % 512)) % 512));
    }
  }
  parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

/**
 * An OCI layout at dir with one image of these layers (uncompressed tars);
 * tamper may change a layer blob's bytes or its descriptor after the digests are taken.
 */
export function makeLayout(dir: string, layers: Uint8Array[], opts: { config?: Record<string, unknown>; tamper?: "digest" | "size"; compress?: "gzip" | "zstd"; platformIndex?: boolean } = {}): void {
  mkdirSync(path.join(dir, "blobs/sha256"), { recursive: true });
  const put = (b: Uint8Array | string) => {
    const hex = sha(b);
    writeFileSync(path.join(dir, "blobs/sha256", hex), b);
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(b) };
  };
  const compress = (l: Uint8Array): Uint8Array => (opts.compress === "gzip" ? Bun.gzipSync(l as Uint8Array<ArrayBuffer>) : opts.compress === "zstd" ? Bun.zstdCompressSync(l as Uint8Array<ArrayBuffer>) : l);
  const descs = layers.map((l) => ({ mediaType: `application/vnd.oci.image.layer.v1.tar${opts.compress ? `+${opts.compress}` : ""}`, ...put(compress(l)) }));
  if (opts.tamper === "digest") {
    const bad = Buffer.from(layers[0]!);
    bad[bad.length - 1] = 1; // inside the end-of-archive blocks: still a valid tar
    writeFileSync(path.join(dir, "blobs/sha256", descs[0]!.digest.slice(7)), bad);
  }
  if (opts.tamper === "size") descs[0]!.size += 512;
  const config = put(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: opts.config ?? { Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: layers.map((l) => `sha256:${sha(l)}`) },
  }));
  const manifest = put(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: descs }));
  writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  let top = { mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest };
  if (opts.platformIndex) {
    // A multi-platform image: arm64 first, its manifest absent (taking it would fail), then amd64.
    const arm = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"0".repeat(64)}`, size: 2, platform: { os: "linux", architecture: "arm64" } };
    const index = put(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [arm, { ...top, platform: { os: "linux", architecture: "amd64" } }] }));
    top = { mediaType: "application/vnd.oci.image.index.v1+json", ...index };
  }
  writeFileSync(path.join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations: { "org.opencontainers.image.ref.name": "latest" } }] }));
}
