/**
 * delete: remove everything a container made — its process (with -f, or
 * when it was never started), its cgroup, its state directory.
 */
import { closeSync } from "node:fs";
import { cgroupManagerFromPaths } from "../cgroups/manager";
import { BuncError } from "../errors";
import { openProcess, sendSignal, waitExit } from "../linux/pidfd";
import { runHooksWarning } from "./hooks";
import { deriveStatus } from "./status";
import { validateId, type ContainerRecord, type Store } from "./store";
import { guard } from "./transitions";

const SIGKILL = 9;

/** Delete a container; returns warnings of failed poststop hooks. */
export function deleteContainer(store: Store, id: string, force = false): string[] {
  if (!store.exists(id)) {
    validateId(id);
    if (force) return []; // As runc: delete -f of an unknown container succeeds quietly.
  }
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  guard(force ? "forceDelete" : "delete", id, status);
  if (record) {
    if (status !== "stopped") killAndWait(record);
    destroyCgroup(record.cgroupPaths);
  } else {
    removeUnfinished(store, id, force);
  }
  store.remove(id);
  if (!record) return [];
  // poststop: after the container is deleted (runtime.md, step 12); failures are warnings.
  return runHooksWarning("poststop", record.hooks?.poststop, {
    ociVersion: record.ociVersion, id: record.id, status: "stopped", bundle: record.bundle, annotations: record.annotations,
  });
}

/** SIGKILL the container's process and whatever else is in its cgroup, and wait until they are gone. */
function killAndWait(record: ContainerRecord): void {
  const cgroup = cgroupManagerFromPaths(record.cgroupPaths);
  cgroup.thaw();
  const fd = openProcess(record.pid, record.pidStartTime);
  if (fd !== undefined) {
    try {
      sendSignal(fd, SIGKILL);
      if (!waitExit(fd, 10_000)) throw new BuncError(`container ${record.id}: process ${record.pid} did not exit after SIGKILL`, { code: "ETIMEDOUT" });
    } finally {
      closeSync(fd);
    }
  }
  cgroup.signalAll(SIGKILL);
}

/**
 * A create that never wrote state.json (it failed without undoing, or was
 * killed): its cgroup, recorded before it was made. With -f whatever is
 * left in it is killed; without, a cgroup with processes (a create still
 * at work, perhaps) is an error and nothing is removed.
 */
function removeUnfinished(store: Store, id: string, force: boolean): void {
  const paths = store.loadCgroupPaths(id);
  if (!paths) return;
  const cgroup = cgroupManagerFromPaths(paths);
  if (force) {
    cgroup.thaw();
    cgroup.signalAll(SIGKILL);
  } else if (cgroup.pids().length > 0) {
    throw new BuncError(`cannot delete container ${id}: it is creating and its cgroup has processes (use delete -f)`, { code: "STATE" });
  }
  destroyCgroup(paths);
}

/** rmdir the cgroup; processes that just got SIGKILL may take a moment to leave it. */
function destroyCgroup(paths: Record<string, string>): void {
  const cgroup = cgroupManagerFromPaths(paths);
  for (let attempt = 0; ; attempt++) {
    try {
      cgroup.destroy();
      return;
    } catch (e) {
      if (attempt >= 100) throw e;
      cgroup.signalAll(SIGKILL);
      Bun.sleepSync(10);
    }
  }
}
