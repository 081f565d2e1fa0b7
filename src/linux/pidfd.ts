/**
 * Acting on a process through a pidfd (pidfd_open(2), pidfd_send_signal(2)):
 * once the fd is open it names that one process, so a signal can never hit
 * a recycled pid. Callers check the start time after opening.
 */
import { closeSync } from "node:fs";
import { isSameProcess } from "./proc";
import { errnoError, rawSyscall, SYS, syscall } from "./libc";

const SYS_ppoll = 271;
const ESRCH = 3;

/** A pidfd for pid if it is still the process that started at startTime; undefined if it is gone. */
export function openProcess(pid: number, startTime: string): number | undefined {
  const fd = rawSyscall(SYS.pidfd_open, pid, 0);
  if (fd === -ESRCH) return undefined;
  if (fd < 0) throw errnoError(`pidfd_open ${pid}`, -fd);
  if (!isSameProcess(pid, startTime)) {
    closeSync(fd);
    return undefined;
  }
  return fd;
}

/**
 * A pidfd for pid, one of our own children, even when it has already exited:
 * an unreaped child stays a zombie and its pid cannot be recycled, so no
 * start-time check is needed (a quick exec'd `true` is gone before we look).
 */
export function openChild(pid: number): number {
  const fd = rawSyscall(SYS.pidfd_open, pid, 0);
  if (fd < 0) throw errnoError(`pidfd_open ${pid}`, -fd);
  return fd;
}

/** Send sig through pidfd. Returns false if the process has already exited. */
export function sendSignal(pidfd: number, sig: number): boolean {
  const r = rawSyscall(SYS.pidfd_send_signal, pidfd, sig, null, 0);
  if (r === -ESRCH) return false;
  if (r < 0) throw errnoError(`send signal ${sig}`, -r);
  return true;
}

/** Wait up to timeoutMs for the process of pidfd to exit; true if it has. */
export function waitExit(pidfd: number, timeoutMs: number): boolean {
  const pfd = new Int32Array([pidfd, 1 /* POLLIN */]);
  const ts = new BigInt64Array([BigInt(Math.floor(timeoutMs / 1000)), BigInt((timeoutMs % 1000) * 1e6)]);
  const r = rawSyscall(SYS_ppoll, pfd, 1, ts, null, 8);
  return r > 0;
}

/** PR_SET_CHILD_SUBREAPER (prctl(2)): orphans of our children are reparented to us. */
export function setChildSubreaper(): void {
  syscall("prctl(PR_SET_CHILD_SUBREAPER)", SYS.prctl, 36, 1, 0, 0, 0);
}

/**
 * A copy of process pid's fd number fd (pidfd_getfd(2), Linux 5.6): needs
 * ptrace access to it (PTRACE_MODE_ATTACH_REALCREDS), which root has even
 * over a non-dumpable child.
 */
export function takeFd(pid: number, fd: number): number {
  const pidfd = rawSyscall(SYS.pidfd_open, pid, 0);
  if (pidfd < 0) throw errnoError(`pidfd_open ${pid}`, -pidfd);
  try {
    return syscall(`pidfd_getfd ${pid} fd ${fd}`, SYS.pidfd_getfd, pidfd, fd, 0);
  } finally {
    closeSync(pidfd);
  }
}
