/**
 * Content verification while streaming: a blob's bytes are counted and
 * hashed as they pass, a blob longer than its descriptor says is refused at
 * the first byte too many, and the digest is checked at its end — so a
 * consumer writes into a private directory and keeps it only once the
 * stream has ended without error (image-spec descriptor.md: "verify").
 */
import { BuncError } from "../errors";

const ALGORITHMS: Record<string, { name: "sha256" | "sha512"; hex: number }> = { sha256: { name: "sha256", hex: 64 }, sha512: { name: "sha512", hex: 128 } };

/** Split and check "sha256:HEX" (descriptor.md's digest grammar for the registered algorithms). */
export function parseDigest(digest: string): { algorithm: "sha256" | "sha512"; hex: string } {
  const [alg, hex] = digest.split(":", 2) as [string, string | undefined];
  const a = ALGORITHMS[alg];
  if (!a || hex === undefined || hex.length !== a.hex || !/^[0-9a-f]+$/.test(hex)) throw new BuncError(`invalid digest ${JSON.stringify(digest)}`, { code: "EINVAL" });
  return { algorithm: a.name, hex };
}

/** The blob's bytes, passed through; throws at the end when the digest, or anywhere when the size, is wrong. */
export async function* verified(source: AsyncIterable<Uint8Array>, what: string, digest: string, size?: number): AsyncGenerator<Uint8Array> {
  const { algorithm, hex } = parseDigest(digest);
  const hasher = new Bun.CryptoHasher(algorithm);
  let count = 0;
  for await (const chunk of source) {
    count += chunk.length;
    if (size !== undefined && count > size) throw new BuncError(`${what}: more than the ${size} bytes its descriptor says`, { code: "EBADMSG" });
    hasher.update(chunk);
    yield chunk;
  }
  if (size !== undefined && count !== size) throw new BuncError(`${what}: ${count} bytes where its descriptor says ${size}`, { code: "EBADMSG" });
  const got = hasher.digest("hex");
  if (got !== hex) throw new BuncError(`${what}: digest ${algorithm}:${got} where ${digest} was expected`, { code: "EBADMSG" });
}

/** A whole (small) blob, verified, as text. */
export async function readVerified(source: AsyncIterable<Uint8Array>, what: string, digest: string, size?: number, limit = 16 << 20): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of verified(source, what, digest, size)) {
    n += c.length;
    if (n > limit) throw new BuncError(`${what}: larger than ${limit} bytes`, { code: "EFBIG" });
    parts.push(c);
  }
  return Buffer.concat(parts).toString("utf8");
}

/** A whole small file that has no digest to check (index.json, manifest.json). */
export async function readAll(source: AsyncIterable<Uint8Array>, what: string, limit = 16 << 20): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of source) {
    n += c.length;
    if (n > limit) throw new BuncError(`${what}: larger than ${limit} bytes`, { code: "EFBIG" });
    parts.push(c);
  }
  return Buffer.concat(parts).toString("utf8");
}
