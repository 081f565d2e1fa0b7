/** A layer's tar stream: its blob verified (digest and size), uncompressed, and that verified against its diff ID. */
import { verified } from "./blob";
import { decompressed } from "./decompress";
import type { Image, Layer } from "./manifest";

export function layerStream(image: Image, layer: Layer): AsyncIterable<Uint8Array> {
  const what = `layer ${layer.digest ?? layer.file}`;
  let raw: AsyncIterable<Uint8Array> = image.source.stream(layer.file);
  if (layer.digest !== undefined) raw = verified(raw, what, layer.digest, layer.size);
  return verified(decompressed(raw, what), `${what} (uncompressed)`, layer.diffId);
}
