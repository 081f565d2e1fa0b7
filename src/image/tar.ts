/**
 * A tar reader (POSIX ustar with pax extended headers, GNU long names and
 * base-256 numbers): what image layers and image archives use. Own code
 * rather than an npm reader because an archive's blobs are read by offset
 * (no stream reader seeks) and both uses share these ~200 lines; fuzzed in
 * test/unit/image-tar.test.ts. Any malformed input is one BuncError.
 */
import { BuncError } from "../errors";

export type EntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo";

export interface TarHeader {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds and nanoseconds since the epoch. */
  mtime: number;
  mtimeNsec: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from pax SCHILY.xattr.* records. */
  xattrs: Record<string, Uint8Array>;
}

const BLOCK = 512;
/** Extended header bodies are held in memory: a limit, so a hostile size cannot exhaust it. */
const MAX_META = 1 << 20;
const TYPES: Record<string, EntryType> = { "0": "file", "\0": "file", "7": "file", "1": "hardlink", "2": "symlink", "3": "char", "4": "block", "5": "dir", "6": "fifo" };
const UTF8 = new TextDecoder();

function bad(msg: string): BuncError {
  return new BuncError(`malformed tar archive: ${msg}`, { code: "EINVAL" });
}

function text(b: Uint8Array, at: number, len: number): string {
  const f = b.subarray(at, at + len);
  const end = f.indexOf(0);
  return UTF8.decode(end < 0 ? f : f.subarray(0, end));
}

/** A numeric field: octal text, or base-256 when the high bit of its first byte is set (GNU). */
function num(b: Uint8Array, at: number, len: number, field: string): number {
  if (b[at]! & 0x80) {
    if (b[at] === 0xff) throw bad(`negative ${field}`);
    let n = b[at]! & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + b[at + i]!;
    if (!Number.isSafeInteger(n)) throw bad(`${field} too large`);
    return n;
  }
  const s = text(b, at, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw bad(`${field} is not a number: ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

function checksumOk(b: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return sum === num(b, 148, 8, "checksum");
}

/** pax records "LEN key=value\n" (POSIX pax(1), "pax Extended Header"). */
export function parsePax(body: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space < 0) throw bad("pax record without a length");
    const len = Number(UTF8.decode(body.subarray(at, space)));
    if (!Number.isInteger(len) || len <= space - at + 1 || at + len > body.length || body[at + len - 1] !== 0x0a) throw bad("pax record length");
    const rec = body.subarray(space + 1, at + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw bad("pax record without '='");
    out.set(UTF8.decode(rec.subarray(0, eq)), rec.slice(eq + 1));
    at += len;
  }
  return out;
}

/** Extended data that applies to the next real entry. */
interface Pending {
  pax?: Map<string, Uint8Array>;
  longName?: string;
  longLink?: string;
}

/** A header block decoded and combined with the pax/GNU data before it. */
export function decodeHeader(b: Uint8Array, pending: Pending, globalPax: Map<string, Uint8Array>): TarHeader {
  const flag = String.fromCharCode(b[156]!);
  const type = TYPES[flag];
  if (!type) throw bad(`unsupported entry type ${JSON.stringify(flag)}`);
  const ustar = text(b, 257, 6).startsWith("ustar");
  const prefix = ustar ? text(b, 345, 155) : "";
  const h: TarHeader = {
    name: prefix ? `${prefix}/${text(b, 0, 100)}` : text(b, 0, 100),
    type,
    mode: num(b, 100, 8, "mode") & 0o7777,
    uid: num(b, 108, 8, "uid"),
    gid: num(b, 116, 8, "gid"),
    size: num(b, 124, 12, "size"),
    mtime: num(b, 136, 12, "mtime"),
    mtimeNsec: 0,
    linkname: text(b, 157, 100),
    devmajor: ustar ? num(b, 329, 8, "devmajor") : 0,
    devminor: ustar ? num(b, 337, 8, "devminor") : 0,
    xattrs: {},
  };
  if (pending.longName !== undefined) h.name = pending.longName;
  if (pending.longLink !== undefined) h.linkname = pending.longLink;
  const pax = new Map([...globalPax, ...(pending.pax ?? [])]);
  for (const [key, raw] of pax) {
    const v = () => UTF8.decode(raw);
    const int = (field: string) => {
      if (!/^\d+$/.test(v())) throw bad(`pax ${field} is not a number`);
      return Number(v());
    };
    if (key === "path") h.name = v();
    else if (key === "linkpath") h.linkname = v();
    else if (key === "size") h.size = int("size");
    else if (key === "uid") h.uid = int("uid");
    else if (key === "gid") h.gid = int("gid");
    else if (key === "mtime") {
      const m = /^(\d+)(?:\.(\d{1,9})\d*)?$/.exec(v());
      if (!m) throw bad("pax mtime");
      h.mtime = Number(m[1]);
      h.mtimeNsec = Number((m[2] ?? "").padEnd(9, "0"));
    } else if (key.startsWith("SCHILY.xattr.")) h.xattrs[key.slice(13)] = raw;
  }
  if (!Number.isSafeInteger(h.size)) throw bad("size too large");
  // Only regular files carry data (ustar: the size of links, directories and devices is not data).
  if (type !== "file") h.size = 0;
  return h;
}

/** Pulls exact byte counts out of a stream of chunks. */
class ByteReader {
  private buf: Uint8Array = new Uint8Array(0);
  private it: AsyncIterator<Uint8Array>;
  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    const next = await this.it.next();
    if (next.done) return false;
    this.buf = this.buf.length ? concat(this.buf, next.value) : next.value;
    return true;
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Uint8Array> {
    while (this.buf.length < n) if (!(await this.fill())) break;
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** n bytes as chunks of whatever size arrives. */
  async *chunks(n: number): AsyncGenerator<Uint8Array> {
    while (n > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw bad("unexpected end of archive");
      const out = this.buf.subarray(0, Math.min(n, this.buf.length));
      this.buf = this.buf.subarray(out.length);
      n -= out.length;
      yield out;
    }
  }

  /** Read to the end (a verifying source checks its digest only there). */
  async drain(): Promise<void> {
    this.buf = new Uint8Array(0);
    while (await this.fill()) this.buf = new Uint8Array(0);
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n));
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

export interface TarEntry {
  header: TarHeader;
  /** The entry's data; what the consumer leaves unread is skipped before the next entry. */
  body: AsyncGenerator<Uint8Array>;
}

/** The entries of a tar stream, in order. */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(source);
  const globalPax = new Map<string, Uint8Array>();
  let pending: Pending = {};
  for (;;) {
    const b = await r.read(BLOCK);
    if (b.length === 0) return; // no end-of-archive blocks: accepted, as GNU tar does
    if (b.length < BLOCK) throw bad("truncated header");
    if (b.every((x) => x === 0)) {
      // The end-of-archive blocks: the rest is read too, so that the source can verify all of it.
      await r.drain();
      return;
    }
    if (!checksumOk(b)) throw bad("header checksum mismatch");
    const flag = String.fromCharCode(b[156]!);
    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      const size = num(b, 124, 12, "size");
      if (size > MAX_META) throw bad("extended header too large");
      const body = await r.read(size);
      if (body.length < size) throw bad("unexpected end of archive");
      await r.skip(padding(size));
      if (flag === "x") pending.pax = parsePax(body);
      else if (flag === "g") for (const [k, v] of parsePax(body)) globalPax.set(k, v);
      else if (flag === "L") pending.longName = text(body, 0, body.length);
      else pending.longLink = text(body, 0, body.length);
      continue;
    }
    const header = decodeHeader(b, pending, globalPax);
    pending = {};
    const body = r.chunks(header.size);
    yield { header, body };
    // Whatever the consumer left of the body, then the padding.
    for await (const _ of body);
    await r.skip(padding(header.size));
  }
}

/** Where one member of an uncompressed tar file lies. */
export interface Member {
  header: TarHeader;
  offset: number;
}

/** Index an uncompressed tar file by member name (./ and leading / removed), reading headers only. */
export function indexTar(read: (pos: number, len: number) => Uint8Array, fileSize: number): Map<string, Member> {
  const out = new Map<string, Member>();
  const globalPax = new Map<string, Uint8Array>();
  let pending: Pending = {};
  let pos = 0;
  while (pos + BLOCK <= fileSize) {
    const b = read(pos, BLOCK);
    if (b.every((x) => x === 0)) break;
    if (!checksumOk(b)) throw bad("header checksum mismatch");
    const flag = String.fromCharCode(b[156]!);
    const size = num(b, 124, 12, "size");
    pos += BLOCK;
    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      if (size > MAX_META || pos + size > fileSize) throw bad("extended header too large");
      const body = read(pos, size);
      if (flag === "x") pending.pax = parsePax(body);
      else if (flag === "g") for (const [k, v] of parsePax(body)) globalPax.set(k, v);
      else if (flag === "L") pending.longName = text(body, 0, body.length);
      else pending.longLink = text(body, 0, body.length);
      pos += size + padding(size);
      continue;
    }
    const header = decodeHeader(b, pending, globalPax);
    pending = {};
    if (pos + header.size > fileSize) throw bad(`member ${header.name} runs past the end of the file`);
    out.set(memberName(header.name), { header, offset: pos });
    pos += header.size + padding(header.size);
  }
  return out;
}

/** A member's name as looked up: no leading "./" or "/", no trailing "/". */
export function memberName(name: string): string {
  return name.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
}
