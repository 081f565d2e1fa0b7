/**
 * The D-Bus wire format, little-endian, as the D-Bus Specification
 * ("Message Protocol": marshaling, message format) defines it: only what
 * systemd's manager API needs (no unix fds, no big-endian writer; a
 * big-endian message is read).
 *
 * JavaScript values by type code: y n q i u → number, x t → bigint,
 * b → boolean, d → number, s o g → string, a → array (a{..} too, as
 * [key, value] pairs), (...) → array of the fields, v → Variant.
 */
import { BuncError } from "../../errors";

/** A variant: its value's signature and the value. */
export interface Variant {
  sig: string;
  value: unknown;
}
export const variant = (sig: string, value: unknown): Variant => ({ sig, value });

export const enum MessageType {
  MethodCall = 1,
  MethodReturn = 2,
  Error = 3,
  Signal = 4,
}

/** Header field codes (spec: "Header Fields"). */
const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;
const FIELD_TYPE: Record<number, string> = { 1: "o", 2: "s", 3: "s", 4: "s", 5: "u", 6: "s", 7: "s", 8: "g", 9: "u" };

export interface Message {
  type: MessageType;
  serial: number;
  /** Flags byte: 1 NO_REPLY_EXPECTED, 2 NO_AUTO_START. */
  flags?: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body?: unknown[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bad(what: string): BuncError {
  return new BuncError(`D-Bus: ${what}`, { code: "EPROTO" });
}

/** Split a signature into its complete types ("sa(sv)" → ["s", "a(sv)"]). */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < sig.length) {
    const end = completeTypeEnd(sig, i);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

/** The index just past the complete type starting at sig[i]. */
function completeTypeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === undefined) throw bad(`signature ${JSON.stringify(sig)} ends early`);
  if (c === "a") return completeTypeEnd(sig, i + 1);
  if (c === "(" || c === "{") {
    const close = c === "(" ? ")" : "}";
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw bad(`signature ${JSON.stringify(sig)}: unclosed ${c}`);
      j = completeTypeEnd(sig, j);
    }
    return j + 1;
  }
  if ("ybnqiuxtdsogvh".includes(c)) return i + 1;
  throw bad(`signature ${JSON.stringify(sig)}: unknown type ${JSON.stringify(c)}`);
}

/** Alignment of a type by its first code (spec: "Summary of types"). */
function alignment(code: string): number {
  switch (code) {
    case "y": case "g": case "v": return 1;
    case "n": case "q": return 2;
    case "x": case "t": case "d": case "(": case "{": return 8;
    default: return 4; // b i u s o a h
  }
}

/** A growing little-endian buffer; offsets count from the message's first byte, which alignment is relative to. */
class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }
  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  byte(v: number): void { this.room(1); this.view.setUint8(this.length, v); this.length += 1; }
  u16(v: number): void { this.align(2); this.room(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number): void { this.align(2); this.room(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.align(4); this.room(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.align(4); this.room(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  u64(v: bigint): void { this.align(8); this.room(8); this.view.setBigUint64(this.length, v, true); this.length += 8; }
  i64(v: bigint): void { this.align(8); this.room(8); this.view.setBigInt64(this.length, v, true); this.length += 8; }
  f64(v: number): void { this.align(8); this.room(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  bytes(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.length); this.length += b.length; }
  setU32(at: number, v: number): void { this.view.setUint32(at, v, true); }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

function checkInteger(v: unknown, type: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw bad(`${JSON.stringify(v)} is not a valid ${type}`);
  return v;
}

function checkBig(v: unknown, type: string, signed: boolean): bigint {
  const b = typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v;
  if (typeof b !== "bigint") throw bad(`${String(v)} is not a valid ${type}`);
  const ok = signed ? b >= -(1n << 63n) && b < 1n << 63n : b >= 0n && b < 1n << 64n;
  if (!ok) throw bad(`${b} is out of range for ${type}`);
  return b;
}

function writeValue(w: Writer, type: string, v: unknown): void {
  const code = type[0]!;
  switch (code) {
    case "y": return w.byte(checkInteger(v, "byte", 0, 255));
    case "b": return w.u32(v ? 1 : 0);
    case "n": return w.i16(checkInteger(v, "int16", -32768, 32767));
    case "q": return w.u16(checkInteger(v, "uint16", 0, 65535));
    case "i": return w.i32(checkInteger(v, "int32", -(2 ** 31), 2 ** 31 - 1));
    case "u": return w.u32(checkInteger(v, "uint32", 0, 2 ** 32 - 1));
    case "x": return w.i64(checkBig(v, "int64", true));
    case "t": return w.u64(checkBig(v, "uint64", false));
    case "d": return w.f64(Number(v));
    case "s": case "o": {
      if (typeof v !== "string") throw bad(`${JSON.stringify(v)} is not a string`);
      const b = encoder.encode(v);
      if (b.includes(0)) throw bad(`a string with a NUL byte: ${JSON.stringify(v)}`);
      w.u32(b.length);
      w.bytes(b);
      return w.byte(0);
    }
    case "g": {
      if (typeof v !== "string" || v.length > 255) throw bad(`${JSON.stringify(v)} is not a signature`);
      splitSignature(v);
      w.byte(v.length);
      w.bytes(encoder.encode(v));
      return w.byte(0);
    }
    case "v": {
      const { sig, value } = v as Variant;
      if (splitSignature(sig).length !== 1) throw bad(`a variant holds one complete type, not ${JSON.stringify(sig)}`);
      writeValue(w, "g", sig);
      return writeValue(w, sig, value);
    }
    case "a": {
      if (!Array.isArray(v)) throw bad(`${JSON.stringify(v)} is not an array for ${type}`);
      const elem = type.slice(1);
      w.u32(0);
      const lengthAt = w.length - 4;
      // The padding to the first element is not part of the array's length (spec: arrays).
      w.align(alignment(elem[0]!));
      const start = w.length;
      for (const e of v) writeValue(w, elem, e);
      if (w.length - start > 1 << 26) throw bad("an array longer than 64 MiB");
      return w.setU32(lengthAt, w.length - start);
    }
    case "(": case "{": {
      const fields = splitSignature(type.slice(1, -1));
      if (!Array.isArray(v) || v.length !== fields.length) throw bad(`${JSON.stringify(v)} does not have the ${fields.length} fields of ${type}`);
      w.align(8);
      fields.forEach((f, i) => writeValue(w, f, v[i]));
      return;
    }
    default:
      throw bad(`cannot write type ${JSON.stringify(type)}`);
  }
}

/** A message's bytes, ready to send. */
export function encodeMessage(m: Message): Uint8Array {
  const body = new Writer();
  const types = splitSignature(m.signature ?? "");
  if (types.length !== (m.body ?? []).length) throw bad(`body has ${(m.body ?? []).length} values for signature ${JSON.stringify(m.signature ?? "")}`);
  // The body starts 8-aligned in the message, so aligning it from 0 is the same.
  types.forEach((t, i) => writeValue(body, t, m.body![i]));
  const w = new Writer();
  w.byte("l".charCodeAt(0));
  w.byte(m.type);
  w.byte(m.flags ?? 0);
  w.byte(1);
  w.u32(body.length);
  w.u32(m.serial);
  const fields: [number, Variant][] = [];
  for (const [name, code] of Object.entries(FIELD)) {
    const value = m[name as keyof typeof FIELD];
    if (value !== undefined && !(name === "signature" && value === "")) fields.push([code, variant(FIELD_TYPE[code]!, value)]);
  }
  writeValue(w, "a(yv)", fields);
  w.align(8);
  w.bytes(body.result());
  return w.result();
}

class Reader {
  private view: DataView;
  pos = 0;
  constructor(private buf: Uint8Array, private little: boolean, private base = 0) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw bad("message ends early");
  }
  align(n: number): void {
    this.pos += (n - ((this.pos + this.base) % n)) % n;
  }
  byte(): number { this.need(1); return this.view.getUint8(this.pos++); }
  u16(): number { this.align(2); this.need(2); const v = this.view.getUint16(this.pos, this.little); this.pos += 2; return v; }
  i16(): number { this.align(2); this.need(2); const v = this.view.getInt16(this.pos, this.little); this.pos += 2; return v; }
  u32(): number { this.align(4); this.need(4); const v = this.view.getUint32(this.pos, this.little); this.pos += 4; return v; }
  i32(): number { this.align(4); this.need(4); const v = this.view.getInt32(this.pos, this.little); this.pos += 4; return v; }
  u64(): bigint { this.align(8); this.need(8); const v = this.view.getBigUint64(this.pos, this.little); this.pos += 8; return v; }
  i64(): bigint { this.align(8); this.need(8); const v = this.view.getBigInt64(this.pos, this.little); this.pos += 8; return v; }
  f64(): number { this.align(8); this.need(8); const v = this.view.getFloat64(this.pos, this.little); this.pos += 8; return v; }
  text(n: number): string {
    this.need(n + 1);
    const s = decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n + 1; // and the NUL
    return s;
  }
}

function readValue(r: Reader, type: string, depth = 0): unknown {
  if (depth > 64) throw bad("values nested too deep");
  switch (type[0]) {
    case "y": return r.byte();
    case "b": return r.u32() !== 0;
    case "n": return r.i16();
    case "q": return r.u16();
    case "i": return r.i32();
    case "u": case "h": return r.u32();
    case "x": return r.i64();
    case "t": return r.u64();
    case "d": return r.f64();
    case "s": case "o": return r.text(r.u32());
    case "g": return r.text(r.byte());
    case "v": {
      const sig = r.text(r.byte());
      if (splitSignature(sig).length !== 1) throw bad(`variant signature ${JSON.stringify(sig)}`);
      return variant(sig, readValue(r, sig, depth + 1));
    }
    case "a": {
      const length = r.u32();
      const elem = type.slice(1);
      r.align(alignment(elem[0]!));
      const end = r.pos + length;
      const out: unknown[] = [];
      while (r.pos < end) out.push(readValue(r, elem, depth + 1));
      if (r.pos !== end) throw bad("array elements overrun its length");
      return out;
    }
    case "(": case "{": {
      r.align(8);
      return splitSignature(type.slice(1, -1)).map((f) => readValue(r, f, depth + 1));
    }
    default:
      throw bad(`cannot read type ${JSON.stringify(type)}`);
  }
}

/** The total length of the message whose first 16 bytes are given (header fields' length included), or throws on a bad start. */
export function messageLength(head: Uint8Array): number {
  const little = head[0] === 0x6c; // 'l'
  if (!little && head[0] !== 0x42) throw bad(`bad endianness byte ${head[0]}`);
  if (head[3] !== 1) throw bad(`protocol version ${head[3]}`);
  const v = new DataView(head.buffer, head.byteOffset, 16);
  const bodyLength = v.getUint32(4, little);
  const fieldsLength = v.getUint32(12, little);
  const headerEnd = 16 + fieldsLength + ((8 - (fieldsLength % 8)) % 8);
  const total = headerEnd + bodyLength;
  if (total > 1 << 27) throw bad("message longer than 128 MiB");
  return total;
}

/** Parse one whole message. */
export function decodeMessage(bytes: Uint8Array): Message {
  const little = bytes[0] === 0x6c;
  const r = new Reader(bytes, little);
  r.byte();
  const type = r.byte() as MessageType;
  const flags = r.byte();
  r.byte();
  const bodyLength = r.u32();
  const serial = r.u32();
  const m: Message = { type, serial, flags };
  const names = Object.fromEntries(Object.entries(FIELD).map(([k, v]) => [v, k]));
  for (const [code, value] of readValue(r, "a(yv)") as [number, Variant][]) {
    const name = names[code];
    if (name) (m as unknown as Record<string, unknown>)[name] = value.value;
  }
  r.align(8);
  if (r.pos + bodyLength !== bytes.length) throw bad("body length does not match the message");
  const body = new Reader(bytes.subarray(r.pos), little);
  m.body = splitSignature(m.signature ?? "").map((t) => readValue(body, t));
  if (body.pos !== bodyLength) throw bad("body longer than its signature says");
  return m;
}
