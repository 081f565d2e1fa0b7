/**
 * Loads ffi/executor.c through bun:ffi `cc` (TinyCC), only when a command
 * starts a process. Inside a compiled executable `cc` cannot open embedded
 * $bunfs paths, so the source (embedded as text) is written to a memfd and
 * compiled from /proc/self/fd/N.
 */
import { cc, ptr } from "bun:ffi";
import { closeSync, writeSync } from "node:fs";
import source from "./executor.c" with { type: "text" };
import { cstr, SYS, syscall } from "../src/linux/libc";

const MFD_CLOEXEC = 1;

function compile() {
  const fd = syscall("memfd_create", SYS.memfd_create, cstr("bunc-executor.c"), MFD_CLOEXEC);
  try {
    writeSync(fd, source);
    return cc({
      source: `/proc/self/fd/${fd}`,
      symbols: {
        bunc_spawn: { args: ["ptr", "i64", "i64", "ptr"], returns: "i64" },
        bunc_wait: { args: ["i64", "i64", "i64"], returns: "i64" },
        bunc_recv_fd: { args: ["i64"], returns: "i64" },
        bunc_proxy: { args: ["i64", "i64", "i64", "i64", "i64"], returns: "i64" },
        bunc_send_fd: { args: ["i64", "i64", "ptr", "i64"], returns: "i64" },
      },
    }).symbols;
  } finally {
    closeSync(fd);
  }
}

let symbols: ReturnType<typeof compile> | undefined;
function executor() {
  return (symbols ??= compile());
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
 * input -1: no input.
 */
export function proxyTerminal(master: number, input: number, output: number, pidfd: number, timeoutMs: number): number {
  return Number(executor().bunc_proxy(master, input, output, pidfd, timeoutMs));
}

/** Send data with fd attached (SCM_RIGHTS) on sock; returns 0 or -errno. */
export function sendFd(sock: number, fd: number, data: Uint8Array): number {
  return Number(executor().bunc_send_fd(sock, fd, ptr(data), data.length));
}
