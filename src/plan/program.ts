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
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** Messages on the sync socket, both ways: keep in step with executor.c. */
export const Msg = { ERROR: 1, PID: 2, READY: 3, SETUP: 4, GO: 5, SECCOMP: 6, HOOKS: 7, READY_TO_JOIN: 8, IDMAP: 9 } as const;

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

/** Encode ops into the byte layout executor.c reads. */
export function encode(ops: readonly Operation[], syncFd: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let blobSize = 0;
  const blobStart = HEADER + ops.length * OP_SIZE;
  const place = (bytes: Uint8Array, align = 1): number => {
    const pad = (align - ((blobStart + blobSize) % align)) % align;
    if (pad) chunks.push(new Uint8Array(pad));
    blobSize += pad;
    const at = blobStart + blobSize;
    chunks.push(bytes);
    blobSize += bytes.length;
    return at;
  };
  const str = (s: string): number => place(enc.encode(s + "\0"));
  const table = (t: Table): number => {
    if ("bytes" in t) return place(t.bytes, 8);
    if ("u32" in t) return place(new Uint8Array(new Uint32Array(t.u32).buffer), 8);
    const slots = new BigUint64Array(t.strings.length + 1);
    t.strings.forEach((s, i) => (slots[i] = BigInt(str(s))));
    return place(new Uint8Array(slots.buffer), 8);
  };

  const opBytes = new Uint8Array(ops.length * OP_SIZE);
  const view = new DataView(opBytes.buffer);
  ops.forEach((op, i) => {
    const at = i * OP_SIZE;
    view.setUint32(at, op.code, true);
    view.setInt32(at + 4, op.fd ?? -1, true);
    (op.s ?? []).forEach((s, k) => view.setUint32(at + 8 + 4 * k, s === undefined ? 0 : str(s), true));
    (op.n ?? []).forEach((n, k) => {
      const v = typeof n === "object" ? BigInt(table(n)) : BigInt.asUintN(64, BigInt(n));
      view.setBigUint64(at + 24 + 8 * k, v, true);
    });
  });

  const size = blobStart + blobSize;
  const out = new Uint8Array(size + 8);
  const hv = new DataView(out.buffer);
  hv.setUint32(0, MAGIC, true);
  hv.setUint32(4, ops.length, true);
  hv.setUint32(8, HEADER, true);
  hv.setUint32(12, size, true);
  hv.setInt32(16, syncFd, true);
  out.set(opBytes, HEADER);
  let off = blobStart;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
