/**
 * A layer's bytes uncompressed, whatever it was compressed with: the format
 * is told by its magic bytes (gzip 1f 8b, zstd 28 b5 2f fd), not the media
 * type, since docker archives name none. Bun's built-in zlib does both.
 */
import { Readable } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { BuncError } from "../errors";

/** The stream's first chunk put back in front of the rest. */
async function* prepend(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (let n = await rest.next(); !n.done; n = await rest.next()) yield n.value;
}

export async function* decompressed(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const b = first.value;
  const gzip = b[0] === 0x1f && b[1] === 0x8b;
  const zstd = b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd;
  if (!gzip && !zstd) {
    yield* prepend(b, it);
    return;
  }
  const inflate = gzip ? createGunzip() : createZstdDecompress();
  const input = Readable.from(prepend(b, it));
  // pipe() does not pass a source's error on: a failed verification upstream must end this stream.
  input.on("error", (e) => inflate.destroy(e));
  const out = input.pipe(inflate);
  try {
    for await (const chunk of out) yield chunk as Uint8Array;
  } catch (e) {
    if (e instanceof BuncError) throw e;
    throw new BuncError(`${what}: ${gzip ? "gzip" : "zstd"}: ${(e as Error).message}`, { code: "EBADMSG", cause: e });
  } finally {
    input.destroy();
    out.destroy();
  }
}
