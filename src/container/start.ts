/** start: release a created container's process by opening its exec FIFO (runtime.md "start"). */
import { closeSync, constants, openSync, readSync, unlinkSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { debug } from "../debug";
import { rawSyscall } from "../linux/libc";
import { isSameProcess } from "../linux/proc";
import { deriveStatus } from "./status";
import { runHooksWarning } from "./hooks";
import { EXEC_FIFO, type ContainerRecord, type Store } from "./store";
import { guard } from "./transitions";

const SYS_ppoll = 271;

/** Start a created container; returns warnings of failed poststart hooks. */
export function startContainer(store: Store, id: string): string[] {
  const record = store.load(id);
  const dir = store.dir(id);
  guard("start", id, deriveStatus(record, dir));
  const fifo = path.join(dir, EXEC_FIFO);
  // O_NONBLOCK: opening for reading never waits, even if the writer is gone.
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const pfd = new Int32Array([fd, 1 /* POLLIN */]);
    const ts = new BigInt64Array([0n, 100_000_000n]);
    for (;;) {
      if (rawSyscall(SYS_ppoll, pfd, 1, ts, null, 8) > 0) break;
      if (!isSameProcess(record!.pid, record!.pidStartTime))
        throw new BuncError(`cannot start container ${id}: its process has exited`, { code: "ESRCH" });
    }
    const got = readSync(fd, new Uint8Array(1));
    if (got !== 1) throw new BuncError(`cannot start container ${id}: its process has exited`, { code: "ESRCH" });
    unlinkSync(fifo);
    debug.log?.(`exec fifo opened: pid ${record!.pid} of ${id} goes on to exec`);
  } finally {
    closeSync(fd);
  }
  return poststart(record!);
}

/** poststart hooks, after the process was released; a failure is a warning (config.md). */
export function poststart(record: ContainerRecord): string[] {
  return runHooksWarning("poststart", record.hooks?.poststart, {
    ociVersion: record.ociVersion, id: record.id, status: "running", pid: record.pid, bundle: record.bundle, annotations: record.annotations,
  });
}
