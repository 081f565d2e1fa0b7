/** Facts about a process read from /proc (proc_pid_stat(5)). */
import { readFileSync } from "node:fs";

export interface ProcStat {
  /** One-letter state: R, S, D, Z, T, X, … */
  state: string;
  /** Field 22, starttime in clock ticks since boot: with the pid, it names one process for good. */
  startTime: string;
}

/** /proc/PID/stat, or undefined when there is no such process. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0]!, startTime: rest[19]! };
}

/** Whether pid is alive (not a zombie) and is still the process that started at startTime. */
export function isSameProcess(pid: number, startTime: string): boolean {
  const st = procStat(pid);
  return st !== undefined && st.startTime === startTime && st.state !== "Z" && st.state !== "X";
}

/** Whether this process has capability number cap in its effective set (CapEff of proc_pid_status(5)). */
export function hasEffectiveCapability(cap: number): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "latin1"));
    return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(cap)) & 1n) === 1n;
  } catch {
    return false;
  }
}

/**
 * Whether this process may take an fd from its non-dumpable child with
 * pidfd_getfd(2): CAP_SYS_PTRACE (PTRACE_MODE_ATTACH_REALCREDS over a
 * non-dumpable task), and Yama not at "no attach" (ptrace_scope 3).
 */
export function mayTakeChildFds(): boolean {
  const CAP_SYS_PTRACE = 19;
  if (!hasEffectiveCapability(CAP_SYS_PTRACE)) return false;
  try {
    return readFileSync("/proc/sys/kernel/yama/ptrace_scope", "latin1").trim() !== "3";
  } catch {
    return true; // no Yama
  }
}
