/**
 * Loads the C executor (ffi/executor.c), only when a command starts a process.
 *
 * The built executable carries executor.so, compiled from the same source
 * by the system C compiler at build time (scripts/build.ts) and embedded as
 * a file: it is written to a memfd and dlopen'ed from /proc/self/fd/N
 * (~0.3 ms). Run from source, there is no embedded object, and the source
 * is compiled at run time by bun:ffi `cc` (TinyCC, ~4 ms): it is embedded as
 * text and compiled from a memfd too, since TinyCC cannot open $bunfs paths.
 */
import { cc, dlopen, ptr, type FFIFunction } from "bun:ffi";
import { closeSync, readFileSync, writeSync } from "node:fs";
import source from "./executor.c" with { type: "text" };
import { cstr, SYS, syscall } from "../src/linux/libc";

const MFD_CLOEXEC = 1;

const SYMBOLS = {
  bunc_spawn: { args: ["ptr", "i64", "i64", "ptr"], returns: "i64" },
  bunc_wait: { args: ["i64", "i64", "i64"], returns: "i64" },
  bunc_recv_fd: { args: ["i64"], returns: "i64" },
  bunc_proxy: { args: ["i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
  bunc_send_fd: { args: ["i64", "i64", "ptr", "i64"], returns: "i64" },
} as const satisfies Record<string, FFIFunction>;

/** A memfd holding data, for a loader that wants a path. */
function memfd(name: string, data: Uint8Array): number {
  const fd = syscall("memfd_create", SYS.memfd_create, cstr(name), MFD_CLOEXEC);
  writeSync(fd, data);
  return fd;
}

function load() {
  const embedded = Bun.embeddedFiles.some((f) => (f as Blob & { name?: string }).name === "executor.so");
  if (embedded) {
    const fd = memfd("bunc-executor.so", readFileSync("/$bunfs/root/executor.so"));
    try {
      return dlopen(`/proc/self/fd/${fd}`, SYMBOLS).symbols;
    } finally {
      closeSync(fd);
    }
  }
  const fd = memfd("bunc-executor.c", new TextEncoder().encode(source));
  try {
    return cc({ source: `/proc/self/fd/${fd}`, symbols: SYMBOLS }).symbols;
  } finally {
    closeSync(fd);
  }
}

let symbols: ReturnType<typeof load> | undefined;
function executor() {
  return (symbols ??= load());
}

/**
 * clone3 a child that runs `program` (see src/plan/program.ts) and never
 * returns to JavaScript. Returns the child's pid and pidfd, or -errno.
 */
export function spawn(program: Uint8Array, cloneFlags: bigint, cgroupFd = -1): { pid: number; pidfd: number } | number {
  const out = new Int32Array(2);
  const r = Number(executor().bunc_spawn(ptr(program), cloneFlags, cgroupFd, ptr(out)));
  if (r < 0) return r;
  return { pid: out[0]!, pidfd: out[1]! };
}

/**
 * Wait up to timeoutMs (-1: forever) for the process of pidfd to exit, reaping
 * other exited children meanwhile. Returns the status (code << 8 | signal),
 * or -errno (-EAGAIN on timeout, -EINTR on a signal).
 */
export function wait(pidfd: number, pid: number, timeoutMs: number): number {
  return Number(executor().bunc_wait(pidfd, pid, timeoutMs));
}

/** Receive one fd passed with SCM_RIGHTS on sock; returns it or -errno. */
export function receiveFd(sock: number): number {
  return Number(executor().bunc_recv_fd(sock));
}

/**
 * Proxy a terminal: input → master, master → output, until the process of
 * pidfd exits (0) or timeoutMs passes (-EAGAIN; -EINTR on a signal).
 * input -1: no input. When input ends, eofChar (if >= 0) is written to the
 * master once the container has read what was queued, and 1 is returned.
 */
export function proxyTerminal(master: number, input: number, output: number, pidfd: number, timeoutMs: number, eofChar = -1): number {
  return Number(executor().bunc_proxy(master, input, output, pidfd, timeoutMs, eofChar));
}

/** Send data (a message, as runc's cmsg.SendRawFd) with fd attached (SCM_RIGHTS) on sock; returns 0 or -errno. */
export function sendFd(sock: number, fd: number, data: Uint8Array | string): number {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return Number(executor().bunc_send_fd(sock, fd, ptr(bytes), bytes.length));
}
