/**
 * Staying attached to a process (run and exec in the foreground): forward
 * signals to it through its pidfd, proxy its terminal, and return its exit
 * status as a shell does (128+N for a death by signal N).
 */
import { closeSync, constants, openSync } from "node:fs";
import { BuncError } from "../errors";
import { proxyTerminal, receiveFd, wait } from "../../ffi/executor";
import { socketPair } from "../linux/fs";
import { debug } from "../debug";
import { errnoError } from "../linux/libc";
import { sendSignal } from "../linux/pidfd";
import { copyWindowSize, eofCharOf, isTerminal, makeRaw } from "../linux/tty";

/** Signals passed on to the process (runc's signal proxy). */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;
const SIGNUM: Record<(typeof FORWARDED)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };
const EAGAIN = 11;
const EINTR = 4;
/** How long one wait blocks in C before JavaScript gets to run signal handlers. */
const SLICE_MS = 100;

/**
 * A foreground process with a terminal needs one of ours to proxy it to: as
 * runc's initHostConsole, stderr, stdout or stdin, else the controlling
 * terminal (/dev/tty). Checked before anything exists.
 */
function requireHostTerminal(): void {
  if (isTerminal(2) || isTerminal(1) || isTerminal(0)) return;
  try {
    closeSync(openSync("/dev/tty", constants.O_RDWR | constants.O_NOCTTY));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENXIO" ? "no such device or address" : (e as Error).message;
    throw new BuncError(`open /dev/tty: ${why}: process.terminal is true, but bunc has no terminal to attach it to (stdin, stdout and stderr are not terminals, and there is no controlling terminal); use -d with --console-socket`, { code: "ENOTTY", cause: e });
  }
}

/** A terminal being set up for a foreground process: give `childEnd` to the executor, then call attach(). */
export class Terminal {
  private ends: [number, number];
  master?: number;
  private restore?: () => void;

  constructor() {
    requireHostTerminal();
    this.ends = socketPair();
  }

  /** The socket end the executor sends the pty master to. */
  get childEnd(): number {
    return this.ends[1];
  }

  /** Receive the master, size it like our terminal, and put our terminal in raw mode. */
  attach(): number {
    closeSync(this.ends[1]);
    this.ends[1] = -1;
    const fd = receiveFd(this.ends[0]);
    if (fd < 0) throw errnoError("receive the container's terminal", -fd);
    this.master = fd;
    copyWindowSize(0, fd);
    this.restore = makeRaw(0);
    return fd;
  }

  /** Restore our terminal and close everything. */
  close(): void {
    this.restore?.();
    this.restore = undefined;
    for (const fd of [...this.ends, this.master ?? -1]) if (fd >= 0) closeSync(fd);
    this.ends = [-1, -1];
    this.master = undefined;
  }
}

/**
 * The signals run and exec pass on to their process. Installed before the
 * process exists, so that a SIGTERM arriving during create is not bunc's
 * death but is held and forwarded once there is a pidfd (runc installs its
 * handler before it starts the container too).
 */
export class SignalForwarder {
  private pidfd = -1;
  private pending: number[] = [];
  private handlers: [NodeJS.Signals, () => void][];

  constructor() {
    this.handlers = FORWARDED.map((name) => [name, () => this.forward(SIGNUM[name])]);
    for (const [name, handler] of this.handlers) process.on(name, handler);
  }

  private forward(sig: number): void {
    if (this.pidfd < 0) this.pending.push(sig);
    else sendSignal(this.pidfd, sig);
  }

  /** From now on signals go to the process of pidfd (held ones first). */
  attach(pidfd: number): void {
    this.pidfd = pidfd;
    for (const sig of this.pending.splice(0)) sendSignal(pidfd, sig);
  }

  close(): void {
    for (const [name, handler] of this.handlers) process.off(name, handler);
    this.pidfd = -1;
  }
}

/**
 * Forward signals (and proxy the terminal) until the process exits; its exit
 * status. Closes pidfd, and the forwarder (one is made when none is given).
 */
export async function supervise(pidfd: number, pid: number, master?: number, forwarder = new SignalForwarder()): Promise<number> {
  forwarder.attach(pidfd);
  const handlers: [NodeJS.Signals, () => void][] = [];
  if (master !== undefined) handlers.push(["SIGWINCH", () => void copyWindowSize(0, master)]);
  for (const [name, handler] of handlers) process.on(name, handler);
  // When our stdin is a pipe or a file, its end is passed on as the terminal's
  // EOF character, as script(1) does: a shell reading it then exits instead of
  // waiting forever (runc just stops copying). A terminal of ours never "ends".
  let input = 0;
  const eof = master !== undefined && !isTerminal(0) ? eofCharOf(master) : -1;
  try {
    for (;;) {
      // Block in C for a slice, then come back to the event loop so that signal handlers run.
      if (master !== undefined) {
        const p = proxyTerminal(master, input, 1, pidfd, SLICE_MS, eof);
        if (p < 0 && p !== -EAGAIN && p !== -EINTR) throw errnoError("proxy the container's terminal", -p);
        if (p === 1) input = -1;
        // Only the proxy's 0 says the process exited and its last output was copied.
        if (p !== 0) {
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
      }
      const r = wait(pidfd, pid, master === undefined ? SLICE_MS : 0);
      if (r >= 0) {
        debug.log?.(`process exited: pid ${pid}, ${r & 0x7f ? `killed by signal ${r & 0x7f}` : `status ${r >> 8}`}`);
        return r & 0x7f ? 128 + (r & 0x7f) : r >> 8;
      }
      if (r !== -EAGAIN && r !== -EINTR) throw errnoError("wait for the container", -r);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
    forwarder.close();
    closeSync(pidfd);
  }
}
