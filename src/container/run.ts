/**
 * run: create with no exec FIFO, then, in the foreground, stay attached
 * (signals, terminal, exit status; see supervise.ts) as child subreaper,
 * and delete the container afterwards unless --keep.
 */
import { closeSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { setChildSubreaper } from "../linux/pidfd";
import { loadBundle } from "./bundle";
import { createContainer, type CreateOptions } from "./create";
import { deleteContainer } from "./delete";
import { poststart } from "./start";
import type { Store } from "./store";
import { SignalForwarder, supervise, Terminal } from "./supervise";

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  keep?: boolean;
  noSubreaper?: boolean;
  /** Called with each warning as it happens (the CLI prints it). */
  onWarning?: (msg: string) => void;
}

/** Run a container; returns its exit status (128+N when killed by signal N), or 0 when detached. */
export async function runContainer(store: Store, opts: RunOptions): Promise<number> {
  if (opts.detach) {
    const { pidfd, record, warnings } = createContainer(store, { ...opts, startNow: true });
    closeSync(pidfd);
    for (const w of [...warnings, ...poststart(record)]) opts.onWarning?.(w);
    return 0;
  }
  if (opts.consoleSocket) throw new BuncError("cannot use console socket if bunc will not detach (use run -d)", { code: "EINVAL" });
  // Read once here (does it want a terminal?) and handed to create, which would read it again.
  const spec = loadBundle(path.resolve(opts.bundle));
  const terminal = spec.process?.terminal === true ? new Terminal() : undefined;
  if (!opts.noSubreaper) setChildSubreaper();
  const forwarder = new SignalForwarder();
  let created = false;
  try {
    const { record, pidfd, warnings } = createContainer(store, { ...opts, spec, startNow: true, consoleFd: terminal?.childEnd });
    created = true;
    for (const w of [...warnings, ...poststart(record)]) opts.onWarning?.(w);
    return await supervise(pidfd, record.pid, terminal?.attach(), forwarder);
  } finally {
    forwarder.close();
    terminal?.close();
    // Only what this run created: a failed create (say, a duplicate id) must not delete another container.
    if (created && !opts.keep) for (const w of deleteContainer(store, opts.id, true)) opts.onWarning?.(w);
  }
}
