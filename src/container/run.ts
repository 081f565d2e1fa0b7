/**
 * run in the foreground: create with no exec FIFO, then supervise — forward
 * signals to the container's process, reap orphans as child subreaper,
 * proxy its terminal when process.terminal is set, and return its exit
 * status; delete the container afterwards unless --keep.
 */
import { closeSync } from "node:fs";
import { proxyTerminal, receiveFd, wait } from "../../ffi/executor";
import { socketPair } from "../linux/fs";
import { errnoError } from "../linux/libc";
import { sendSignal, setChildSubreaper } from "../linux/pidfd";
import { copyWindowSize, makeRaw } from "../linux/tty";
import { loadBundle } from "./bundle";
import { createContainer, type CreateOptions } from "./create";
import { deleteContainer } from "./delete";
import type { Store } from "./store";

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  keep?: boolean;
  noSubreaper?: boolean;
}

/** Signals that run passes on to the container (runc's signal proxy). */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;
const SIGNUM: Record<(typeof FORWARDED)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };
const EAGAIN = 11;
const EINTR = 4;
/** How long one wait blocks in C before JavaScript gets to run signal handlers. */
const SLICE_MS = 100;

/** Run a container; returns its exit status (128+N when killed by signal N), or 0 when detached. */
export async function runContainer(store: Store, opts: RunOptions): Promise<number> {
  if (opts.detach) {
    const { pidfd } = createContainer(store, { ...opts, startNow: true });
    closeSync(pidfd);
    return 0;
  }
  const terminal = !opts.consoleSocket && loadBundle(opts.bundle).process?.terminal === true;
  if (!opts.noSubreaper) setChildSubreaper();
  let console: [number, number] | undefined;
  let master: number | undefined;
  let restore: (() => void) | undefined;
  try {
    if (terminal) console = socketPair();
    const { record, pidfd } = createContainer(store, { ...opts, startNow: true, consoleFd: console?.[1] });
    if (console) {
      closeSync(console[1]);
      const fd = receiveFd(console[0]);
      if (fd < 0) throw errnoError("receive the container's terminal", -fd);
      master = fd;
      copyWindowSize(0, master);
      restore = makeRaw(0);
    }
    return await supervise(pidfd, record.pid, master);
  } finally {
    restore?.();
    if (master !== undefined) closeSync(master);
    if (console) closeSync(console[0]);
    if (!opts.keep) {
      try {
        deleteContainer(store, opts.id, true);
      } catch {
        // The container may not exist: create failed and cleaned up already.
      }
    }
  }
}

/** Forward signals and proxy the terminal until the process exits; its exit status. */
async function supervise(pidfd: number, pid: number, master: number | undefined): Promise<number> {
  const handlers: [NodeJS.Signals, () => void][] = FORWARDED.map((name) => [name, () => void sendSignal(pidfd, SIGNUM[name])]);
  if (master !== undefined) handlers.push(["SIGWINCH", () => void copyWindowSize(0, master)]);
  for (const [name, handler] of handlers) process.on(name, handler);
  try {
    for (;;) {
      // Block in C for a slice, then come back to the event loop so that signal handlers run.
      if (master !== undefined) {
        const p = proxyTerminal(master, 0, 1, pidfd, SLICE_MS);
        if (p < 0 && p !== -EAGAIN && p !== -EINTR) throw errnoError("proxy the container's terminal", -p);
      }
      const r = wait(pidfd, pid, master === undefined ? SLICE_MS : 0);
      if (r >= 0) return r & 0x7f ? 128 + (r & 0x7f) : r >> 8;
      if (r !== -EAGAIN && r !== -EINTR) throw errnoError("wait for the container", -r);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
    closeSync(pidfd);
  }
}
