/**
 * The setup program: a flat list of operations that ffi/executor.c runs in
 * the container's first process, between clone3 and execve. This file only
 * defines and encodes it; src/plan/compile.ts decides what goes in it.
 *
 * Encoding (little-endian, read by executor.c's struct header/op):
 *   header  { u32 magic, u32 nops, u32 opsOffset, u32 size, i32 syncFd, i32 pad }
 *   ops     nops × { u32 code, i32 fd, u32 s[4], u64 n[5] }   (64 bytes each)
 *   blob    NUL-terminated strings and 8-aligned tables, addressed by offset.
 * Offset 0 means NULL.
 */

/** Operation codes: keep in step with executor.c's enum. */
export const Op = {
  SETNS: 1,
  UNSHARE: 2,
  SYNC: 3,
  FORK: 4,
  PDEATHSIG: 5,
  MOUNT: 6,
  BIND: 7,
  PROPAGATE: 8,
  SET_ROOT: 9,
  MKNOD: 10,
  SYMLINK: 11,
  MASK: 12,
  READONLY: 13,
  PIVOT_ROOT: 14,
  SETHOSTNAME: 15,
  SETDOMAINNAME: 16,
  WRITE_FILE: 17,
  SETRLIMIT: 18,
  CHDIR: 19,
  UMASK: 20,
  SETGROUPS: 21,
  SETRESGID: 22,
  SETRESUID: 23,
  KEEPCAPS: 24,
  CAPBSET: 25,
  CAPSET: 26,
  AMBIENT: 27,
  NO_NEW_PRIVS: 28,
  LOOKUP: 29,
  READY: 30,
  FIFO_WAIT: 31,
  CLOSE_FDS: 32,
  EXEC: 33,
  SECCOMP: 34,
  CLOSE: 35,
  WRITE_FD: 36,
  ROOT_RDONLY: 37,
  KEYRING: 38,
  MKDIR: 39,
  CONSOLE: 40,
  HOOK: 41,
  SYSCTL: 42,
  PERSONALITY: 43,
  SCHEDULER: 44,
  IOPRIO: 45,
  AFFINITY: 46,
  LOOPBACK_UP: 47,
  SETATTR: 48,
  DUMPABLE: 49,
  LSM_ATTR: 50,
  MEMPOLICY: 51,
  SETXATTR: 52,
  STDIO_OWNER: 60,
  VERIFY_CWD: 61,
  HIDE_MOUNT: 70,
} as const;

/** OP_CHDIR's n0: keep in step with executor.c. */
export const Chdir = { MUST: 0, EARLY: 1, LATE: 2 } as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** Messages on the sync socket, both ways: keep in step with executor.c. */
export const Msg = { ERROR: 1, PID: 2, READY: 3, SETUP: 4, GO: 5, SECCOMP: 6, HOOKS: 7, READY_TO_JOIN: 8, IDMAP: 9, SECCOMP_FD: 10 } as const;

/** How OP_MOUNT/OP_BIND create a missing target (COPY_UP: OP_MOUNT copies what it covers into the new mount): keep in step with executor.c. */
export const Create = { NONE: 0, DIR: 1, FILE: 2, NO_SYMLINKS: 4, COPY_UP: 8 } as const;

/** A table in the blob: pointers to strings (argv, envp, candidates) or u32 values (groups). */
export type Table = { strings: string[] } | { u32: number[] } | { bytes: Uint8Array };
export type Num = number | bigint | Table;

export interface Operation {
  code: OpCode;
  /** What this step does, for the error message when it fails: "mount proc to /proc". */
  what: string;
  fd?: number;
  s?: (string | undefined)[];
  n?: Num[];
}

const MAGIC = 0x62756e63;
const HEADER = 24;
const OP_SIZE = 64;
const enc = new TextEncoder();

/**
 * Encode ops into the byte layout executor.c reads: header, ops, then a blob
 * of strings and tables. One growing buffer and plain number arithmetic (no
 * BigInt per field): this runs cold, interpreted, once per container, and
 * the straightforward version cost ~0.4 ms of it.
 */
export function encode(ops: readonly Operation[], syncFd: number): Uint8Array {
  const blobStart = HEADER + ops.length * OP_SIZE;
  let buf = new Uint8Array(Math.max(4096, blobStart * 2));
  let view = new DataView(buf.buffer);
  let end = blobStart;
  const reserve = (n: number) => {
    if (end + n <= buf.length) return;
    const bigger = new Uint8Array(Math.max(buf.length * 2, end + n));
    bigger.set(buf);
    buf = bigger;
    view = new DataView(buf.buffer);
  };
  const align = (to: number) => {
    end += (to - (end % to)) % to;
  };
  /** A u64 at `at`: numbers as two u32 halves (two's complement when negative), bigints as they are. */
  const u64 = (at: number, n: number | bigint) => {
    if (typeof n === "bigint") return view.setBigUint64(at, BigInt.asUintN(64, n), true);
    view.setUint32(at, n >>> 0, true);
    view.setUint32(at + 4, Math.floor(n / 2 ** 32) >>> 0, true);
  };
  const str = (s: string): number => {
    reserve(s.length * 3 + 1); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const at = end;
    end += enc.encodeInto(s, buf.subarray(end)).written;
    buf[end++] = 0;
    return at;
  };
  const bytes = (b: Uint8Array): number => {
    align(8);
    reserve(b.length);
    const at = end;
    buf.set(b, at);
    end += b.length;
    return at;
  };
  const table = (t: Table): number => {
    if ("bytes" in t) return bytes(t.bytes);
    if ("u32" in t) return bytes(new Uint8Array(new Uint32Array(t.u32).buffer));
    const offsets = t.strings.map(str);
    align(8);
    reserve((offsets.length + 1) * 8);
    const at = end;
    offsets.forEach((o, i) => u64(at + 8 * i, o));
    u64(at + 8 * offsets.length, 0);
    end += (offsets.length + 1) * 8;
    return at;
  };

  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const at = HEADER + i * OP_SIZE;
    view.setUint32(at, op.code, true);
    view.setInt32(at + 4, op.fd ?? -1, true);
    const s = op.s ?? [];
    for (let k = 0; k < s.length; k++) {
      // The offset first: placing the string may grow the buffer and replace `view`.
      const offset = s[k] === undefined ? 0 : str(s[k]!);
      view.setUint32(at + 8 + 4 * k, offset, true);
    }
    const n = op.n ?? [];
    for (let k = 0; k < n.length; k++) {
      const v = n[k]!;
      const value = typeof v === "object" ? table(v) : v;
      u64(at + 24 + 8 * k, value);
    }
  }

  reserve(8);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, ops.length, true);
  view.setUint32(8, HEADER, true);
  view.setUint32(12, end, true);
  view.setInt32(16, syncFd, true);
  return buf.slice(0, end + 8);
}
