/** encode(): the byte layout of the setup program, read back with DataView as executor.c reads it. */
import { describe, expect, test } from "bun:test";
import { encode, Op, type Operation } from "../../src/plan/program";

const MAGIC = 0x62756e63;
const HEADER = 24;
const OP_SIZE = 64;

/** A decoded op: the raw fields of executor.c's struct op. */
interface RawOp {
  code: number;
  fd: number;
  s: number[];
  n: bigint[];
}

function header(buf: Uint8Array) {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    magic: v.getUint32(0, true),
    nops: v.getUint32(4, true),
    opsOffset: v.getUint32(8, true),
    size: v.getUint32(12, true),
    syncFd: v.getInt32(16, true),
    pad: v.getInt32(20, true),
  };
}

function rawOp(buf: Uint8Array, i: number): RawOp {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = header(buf).opsOffset + i * OP_SIZE;
  return {
    code: v.getUint32(at, true),
    fd: v.getInt32(at + 4, true),
    s: [0, 1, 2, 3].map((k) => v.getUint32(at + 8 + 4 * k, true)),
    n: [0, 1, 2, 3, 4].map((k) => v.getBigUint64(at + 24 + 8 * k, true)),
  };
}

/** The NUL-terminated string at offset, checking that the NUL is there. */
function cString(buf: Uint8Array, offset: number): string {
  const end = buf.indexOf(0, offset);
  expect(end).toBeGreaterThanOrEqual(offset);
  return new TextDecoder().decode(buf.subarray(offset, end));
}

/** A NULL-ended table of string offsets (argv/envp/candidates), as executor.c's table() walks it. */
function stringTable(buf: Uint8Array, offset: number | bigint): string[] {
  const at = Number(offset);
  expect(at % 8).toBe(0);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const slot = v.getBigUint64(at + 8 * i, true);
    if (slot === 0n) break;
    out.push(cString(buf, Number(slot)));
  }
  return out;
}

describe("encode: header", () => {
  const ops: Operation[] = [
    { code: Op.SYNC, what: "sync", n: [4] },
    { code: Op.CHDIR, what: "chdir", s: ["/home"] },
  ];
  const buf = encode(ops, 7);
  const h = header(buf);

  test("magic is 'bunc' (0x62756e63)", () => expect(h.magic).toBe(MAGIC));
  test("nops counts the operations", () => expect(h.nops).toBe(2));
  test("ops start right after the 24-byte header", () => expect(h.opsOffset).toBe(HEADER));
  test("syncFd is stored as given", () => expect(h.syncFd).toBe(7));
  test("pad is zero", () => expect(h.pad).toBe(0));
  test("size covers header, ops and blob, and fits in the buffer", () => {
    // The blob holds "/home\0" right after the ops.
    expect(h.size).toBe(HEADER + 2 * OP_SIZE + "/home\0".length);
    expect(buf.length).toBeGreaterThanOrEqual(h.size);
  });
  test("a negative syncFd survives as i32", () => expect(header(encode([], -1)).syncFd).toBe(-1));
  test("an empty program has no ops and no blob", () => {
    const e = header(encode([], 3));
    expect(e.nops).toBe(0);
    expect(e.size).toBe(HEADER);
  });
});

describe("encode: op layout (64 bytes: u32 code, i32 fd, u32 s[4], u64 n[5])", () => {
  test("code, fd, string offsets and numbers land at their offsets", () => {
    const buf = encode(
      [{ code: Op.MOUNT, what: "m", fd: 9, s: ["proc", "/proc", "proc", undefined], n: [6, 5, 0xffffffffn + 1n, -1, 42] }],
      3,
    );
    const o = rawOp(buf, 0);
    expect(o.code).toBe(Op.MOUNT);
    expect(o.fd).toBe(9);
    expect(cString(buf, o.s[0]!)).toBe("proc");
    expect(cString(buf, o.s[1]!)).toBe("/proc");
    expect(cString(buf, o.s[2]!)).toBe("proc");
    expect(o.s[3]).toBe(0); // undefined → NULL
    expect(o.n).toEqual([6n, 5n, 0x100000000n, 0xffffffffffffffffn, 42n]);
  });

  test("fd defaults to -1; missing s and n are 0", () => {
    const buf = encode([{ code: Op.READY, what: "ready" }], 3);
    const o = rawOp(buf, 0);
    expect(o.code).toBe(Op.READY);
    expect(o.fd).toBe(-1);
    expect(o.s).toEqual([0, 0, 0, 0]);
    expect(o.n).toEqual([0n, 0n, 0n, 0n, 0n]);
  });

  test("ops follow each other every 64 bytes, in order", () => {
    const codes = [Op.SYNC, Op.FORK, Op.PIVOT_ROOT, Op.EXEC];
    const buf = encode(codes.map((code) => ({ code, what: "x" })), 3);
    expect(codes.map((_, i) => rawOp(buf, i).code)).toEqual(codes);
    const v = new DataView(buf.buffer);
    expect(v.getUint32(HEADER + 2 * OP_SIZE, true)).toBe(Op.PIVOT_ROOT);
  });

  test("string offsets point into the blob, past the ops", () => {
    const buf = encode([{ code: Op.SYMLINK, what: "s", s: ["/proc/self/fd", "/dev/fd"] }, { code: Op.READY, what: "r" }], 3);
    const o = rawOp(buf, 0);
    for (const off of [o.s[0]!, o.s[1]!]) {
      expect(off).toBeGreaterThanOrEqual(HEADER + 2 * OP_SIZE);
      expect(off).toBeLessThan(header(buf).size);
    }
    expect(cString(buf, o.s[0]!)).toBe("/proc/self/fd");
    expect(cString(buf, o.s[1]!)).toBe("/dev/fd");
  });

  test("strings are UTF-8", () => {
    const buf = encode([{ code: Op.SETHOSTNAME, what: "h", s: ["héllo"] }], 3);
    expect(cString(buf, rawOp(buf, 0).s[0]!)).toBe("héllo");
  });
});

describe("encode: tables", () => {
  test("a {strings} table is an 8-aligned array of string offsets ending with 0", () => {
    const argv = ["sh", "-c", "echo hi"];
    const env = ["PATH=/bin", "HOME=/root"];
    // A 1-byte string first, so the table would be misaligned without padding.
    const buf = encode([{ code: Op.EXEC, what: "exec", s: ["x"], n: [{ strings: argv }, { strings: env }] }], 3);
    const o = rawOp(buf, 0);
    expect(Number(o.n[0]) % 8).toBe(0);
    expect(Number(o.n[1]) % 8).toBe(0);
    expect(stringTable(buf, o.n[0]!)).toEqual(argv);
    expect(stringTable(buf, o.n[1]!)).toEqual(env);
    // The terminating slot itself is zero.
    const v = new DataView(buf.buffer);
    expect(v.getBigUint64(Number(o.n[0]) + 8 * argv.length, true)).toBe(0n);
    expect(Number(o.n[0]) + 8 * (argv.length + 1)).toBeLessThanOrEqual(header(buf).size);
  });

  test("an empty {strings} table is a single 0 slot", () => {
    const buf = encode([{ code: Op.LOOKUP, what: "l", n: [{ strings: [] }] }], 3);
    const off = Number(rawOp(buf, 0).n[0]);
    expect(off).toBeGreaterThan(0);
    expect(off % 8).toBe(0);
    expect(new DataView(buf.buffer).getBigUint64(off, true)).toBe(0n);
  });

  test("a {u32} table is an 8-aligned array of little-endian u32 values", () => {
    const gids = [10, 20, 0xfffffffe];
    const buf = encode([{ code: Op.SETGROUPS, what: "g", s: ["abc"], n: [{ u32: gids }, gids.length] }], 3);
    const o = rawOp(buf, 0);
    const off = Number(o.n[0]);
    expect(off % 8).toBe(0);
    const v = new DataView(buf.buffer);
    expect(gids.map((_, i) => v.getUint32(off + 4 * i, true))).toEqual(gids);
    expect(o.n[1]).toBe(3n);
    expect(off + 4 * gids.length).toBeLessThanOrEqual(header(buf).size);
  });

  test("a {bytes} table is copied verbatim at an 8-aligned offset", () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const buf = encode([{ code: Op.SECCOMP, what: "s", s: ["z"], n: [{ bytes }, 1] }], 3);
    const off = Number(rawOp(buf, 0).n[0]);
    expect(off % 8).toBe(0);
    expect([...buf.subarray(off, off + bytes.length)]).toEqual([...bytes]);
  });

  test("tables of several ops do not overlap", () => {
    const buf = encode(
      [
        { code: Op.LOOKUP, what: "l", n: [{ strings: ["/a/sh", "/b/sh"] }] },
        { code: Op.EXEC, what: "e", n: [{ strings: ["sh"] }, { strings: ["A=1"] }] },
      ],
      3,
    );
    expect(stringTable(buf, rawOp(buf, 0).n[0]!)).toEqual(["/a/sh", "/b/sh"]);
    expect(stringTable(buf, rawOp(buf, 1).n[0]!)).toEqual(["sh"]);
    expect(stringTable(buf, rawOp(buf, 1).n[1]!)).toEqual(["A=1"]);
  });
});

describe("encode: a program larger than the first buffer", () => {
  // A seccomp filter of podman's size comes before the process's strings: every
  // string and table placed after the buffer grew must still be where its op says
  // (a write through the old buffer once left chdir's path offset 0).
  test("strings, tables and numbers after a large bytes table all land in the result", () => {
    const bpf = new Uint8Array(20_000).map((_, i) => i % 251);
    const ops: Operation[] = [
      { code: Op.SECCOMP, what: "seccomp", s: ["filter"], n: [{ bytes: bpf }, bpf.length / 8] },
      ...Array.from({ length: 50 }, (_, i): Operation => ({ code: Op.CHDIR, what: "cd", s: [`/dir/${i}/${"x".repeat(100)}`], n: [i, -1] })),
      { code: Op.EXEC, what: "exec", s: ["/bin/sh"], n: [{ strings: ["sh", "-c", "y".repeat(5000)] }, { strings: ["A=1"] }] },
    ];
    const buf = encode(ops, 3);
    expect(header(buf).size).toBeGreaterThan(25_000);
    const seccomp = rawOp(buf, 0);
    expect(buf.subarray(Number(seccomp.n[0]), Number(seccomp.n[0]) + bpf.length)).toEqual(bpf);
    for (let i = 0; i < 50; i++) {
      const o = rawOp(buf, i + 1);
      expect(cString(buf, o.s[0]!)).toBe(`/dir/${i}/${"x".repeat(100)}`);
      expect(o.n[0]).toBe(BigInt(i));
      expect(o.n[1]).toBe(0xffffffffffffffffn);
    }
    const exec = rawOp(buf, 51);
    expect(cString(buf, exec.s[0]!)).toBe("/bin/sh");
    expect(stringTable(buf, exec.n[0]!)).toEqual(["sh", "-c", "y".repeat(5000)]);
    expect(stringTable(buf, exec.n[1]!)).toEqual(["A=1"]);
  });
});
