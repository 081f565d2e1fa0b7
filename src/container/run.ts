/**
 * run in the foreground: create with no exec FIFO, then supervise — forward
 * signals to the container's process, reap orphans as child subreaper, and
 * return its exit status; delete the container afterwards unless --keep.
 */
import { closeSync } from "node:fs";
import { wait } from "../../ffi/executor";
import { errnoError } from "../linux/libc";
import { sendSignal, setChildSubreaper } from "../linux/pidfd";
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

/** Run a container; returns its exit status (128+N when killed by signal N), or 0 when detached. */
export async function runContainer(store: Store, opts: RunOptions): Promise<number> {
  if (opts.detach) {
    const { pidfd } = createContainer(store, { ...opts, startNow: true });
    closeSync(pidfd);
    return 0;
  }
  if (!opts.noSubreaper) setChildSubreaper();
  const { record, pidfd } = createContainer(store, { ...opts, startNow: true });
  const handlers = FORWARDED.map((name) => {
    const handler = () => sendSignal(pidfd, SIGNUM[name]);
    process.on(name, handler);
    return [name, handler] as const;
  });
  try {
    for (;;) {
      // Block in C for a while, then come back to the event loop so that signal handlers run.
      const r = wait(pidfd, record.pid, 100);
      if (r >= 0) return r & 0x7f ? 128 + (r & 0x7f) : r >> 8;
      if (r !== -EAGAIN && r !== -EINTR) throw errnoError("wait for the container", -r);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
    closeSync(pidfd);
    if (!opts.keep) deleteContainer(store, opts.id, true);
  }
}
