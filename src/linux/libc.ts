/**
 * The parent side's window on the kernel: libc's syscall(2) through bun:ffi,
 * opened lazily so that commands which never make a syscall (spec,
 * --version) do not pay for it. bun:ffi has no errno access, so errno is
 * read from __errno_location() right after the call, before any other
 * libc call can run on this thread.
 */
import { dlopen, ptr, read } from "bun:ffi";
import { BuncError } from "../errors";
import { errnoName, errnoText } from "./errno";

/** x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
export const SYS = {
  read: 0,
  write: 1,
  close: 3,
  socketpair: 53,
  kill: 62,
  flock: 73,
  prctl: 157,
  umount2: 166,
  mknodat: 259,
  waitid: 247,
  memfd_create: 319,
  bpf: 321,
  pidfd_send_signal: 424,
  open_tree: 428,
  pidfd_open: 434,
  pidfd_getfd: 438,
  mount_setattr: 442,
} as const;

type Lib = ReturnType<typeof open>;
let lib: Lib | undefined;

function open() {
  return dlopen("libc.so.6", {
    syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
    __errno_location: { args: [], returns: "ptr" },
  });
}

type Arg = number | bigint | NodeJS.TypedArray | null;

function toArg(a: Arg): number | bigint {
  if (a === null) return 0;
  if (typeof a === "number" || typeof a === "bigint") return a;
  return ptr(a);
}

/** Raw syscall: the result, or -errno (never throws). */
export function rawSyscall(nr: number, ...args: Arg[]): number {
  lib ??= open();
  const a = [0, 1, 2, 3, 4, 5].map((i) => toArg(args[i] ?? 0));
  const r = Number(lib.symbols.syscall(nr, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!));
  if (r !== -1) return r;
  return -read.i32(lib.symbols.__errno_location()!, 0);
}

/** Syscall that throws a BuncError naming `what` on failure. */
export function syscall(what: string, nr: number, ...args: Arg[]): number {
  const r = rawSyscall(nr, ...args);
  if (r < 0) throw errnoError(what, -r);
  return r;
}

/** A BuncError for a failed syscall: "what: no such process". */
export function errnoError(what: string, errno: number): BuncError {
  return new BuncError(`${what}: ${errnoText(errno)}`, { code: errnoName(errno), errno });
}

const CSTR = new TextEncoder();
/** A NUL-terminated copy of s, for passing to the kernel. */
export function cstr(s: string): Uint8Array {
  return CSTR.encode(s + "\0");
}
