/** kill: send a signal to the container's process, through a pidfd checked against its start time. */
import { closeSync } from "node:fs";
import { cgroupManagerFromPaths } from "../cgroups/manager";
import { BuncError } from "../errors";
import { debug } from "../debug";
import { openProcess, sendSignal } from "../linux/pidfd";
import { rawSyscall, SYS } from "../linux/libc";
import { namespacePids } from "./rootless";
import { deriveStatus } from "./status";
import type { Store } from "./store";
import { guard } from "./transitions";

export function killContainer(store: Store, id: string, signal: number, all = false): void {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  if (status === "stopped" && all) return; // runc: nothing left to signal is not an error.
  if (status === "stopped") throw new BuncError(`cannot kill container ${id}: container not running`, { code: "STATE" });
  guard("kill", id, status);
  debug.log?.(`sending signal ${signal} to ${all ? `every process of ${id}` : `pid ${record!.pid} of ${id}`}`);
  if (all) {
    // Every process in the container's cgroup (runc kill --all).
    if (Object.keys(record!.cgroupPaths).length === 0 && record!.ownPidNamespace) {
      // A rootless container without a cgroup: its PID namespace (see namespacePids).
      for (const pid of namespacePids(record!.pid)) rawSyscall(SYS.kill, pid, signal);
      return;
    }
    cgroupManagerFromPaths(record!.cgroupPaths).signalAll(signal);
    return;
  }
  const fd = openProcess(record!.pid, record!.pidStartTime);
  if (fd === undefined) throw new BuncError(`cannot kill container ${id}: container not running`, { code: "STATE" });
  try {
    if (!sendSignal(fd, signal)) throw new BuncError(`cannot kill container ${id}: container not running`, { code: "STATE" });
  } finally {
    closeSync(fd);
  }
}
