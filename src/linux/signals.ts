/** Signal names and numbers of signal(7) on x86_64, and parsing as runc's kill does. */
import { BuncError } from "../errors";

export const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7,
  SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14,
  SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21,
  SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

/** What Go (and so runc) calls signals 1–31 when a process dies of one: "bad system call". */
export const SIGNAL_TEXT: readonly string[] = [
  "hangup", "interrupt", "quit", "illegal instruction", "trace/breakpoint trap", "aborted", "bus error",
  "floating point exception", "killed", "user defined signal 1", "segmentation fault", "user defined signal 2",
  "broken pipe", "alarm clock", "terminated", "stack fault", "child exited", "continued", "stopped (signal)",
  "stopped", "stopped (tty input)", "stopped (tty output)", "urgent I/O condition", "CPU time limit exceeded",
  "file size limit exceeded", "virtual timer expired", "profiling timer expired", "window changed",
  "I/O possible", "power failure", "bad system call",
];

/** "signal: bad system call" for 31, "signal 40" beyond the table (runc's exit error text). */
export function signalText(n: number): string {
  return SIGNAL_TEXT[n - 1] ? `signal: ${SIGNAL_TEXT[n - 1]}` : `signal ${n}`;
}

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** "KILL", "SIGKILL", "9", "RTMIN+3" → a signal number; anything else is an error. */
export function parseSignal(text: string): number {
  // A number is taken as it is, as runc does; the kernel refuses one out of range.
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    if (name in SIGNALS) return SIGNALS[name]!;
    const rt = /^SIGRT(MIN|MAX)([+-]\d+)?$/.exec(name);
    if (rt) {
      const n = (rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
      if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    }
  }
  throw new BuncError(`unknown signal ${JSON.stringify(text)}`, { code: "EINVAL" });
}
