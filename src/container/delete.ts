/**
 * delete: remove everything a container made — its process (with -f, or
 * when it was never started), its cgroup, its mounts when it had no mount
 * namespace of its own, its state directory.
 */
import { closeSync, rmdirSync, statSync } from "node:fs";
import { waitFor } from "../cgroups/fsio";
import { cgroupManagerFromPaths, cgroupManagerOf, type CgroupManager } from "../cgroups/manager";
import { BuncError } from "../errors";
import { debug } from "../debug";
import { detachMount } from "../linux/mountinfo";
import { openProcess, sendSignal, waitExit } from "../linux/pidfd";
import { runHooksWarning } from "./hooks";
import { deriveStatus } from "./status";
import { validateId, type ContainerRecord, type Store } from "./store";
import { guard } from "./transitions";

const SIGKILL = 9;

/** Delete a container; returns warnings (failed poststop hooks, a cgroup others still use). */
export function deleteContainer(store: Store, id: string, force = false): string[] {
  if (!store.exists(id)) {
    validateId(id);
    if (force) return []; // As runc: delete -f of an unknown container succeeds quietly.
  }
  let record: ContainerRecord | undefined;
  try {
    record = store.load(id);
  } catch (e) {
    if (!force || !(e instanceof BuncError) || e.code !== "STATE") throw e;
    return deleteCorrupted(store, id);
  }
  const status = deriveStatus(record, store.dir(id));
  guard(force ? "forceDelete" : "delete", id, status);
  const warnings: string[] = [];
  debug.log?.(`deleting ${id} (${status})`);
  if (record) {
    const pidns = status !== "stopped" ? killAndWait(record) : undefined;
    const left = destroyCgroup(record.cgroupPaths, { killAll: killsAll(record), pidns }, cgroupManagerOf(record));
    if (left) warnings.push(left);
    if (record.hostRootfsMount) {
      try {
        detachMount(record.hostRootfsMount.path, record.hostRootfsMount.id);
      } catch (e) {
        warnings.push((e as Error).message);
      }
    }
  } else {
    warnings.push(...removeUnfinished(store, id, force));
  }
  store.remove(id);
  if (!record) return warnings;
  // poststop: after the container is deleted (runtime.md, step 12); failures are warnings.
  return [...warnings, ...runHooksWarning("poststop", record.hooks?.poststop, {
    ociVersion: record.ociVersion, id: record.id, status: "stopped", bundle: record.bundle, annotations: record.annotations,
  })];
}

/**
 * As runc's destroy (libcontainer/state_linux.go): a container with a pid
 * namespace of its own needs only its init killed — the kernel then kills
 * every other process of the namespace (pid_namespaces(7)) — so other
 * processes that share its cgroup are left alone; without one (the host's,
 * or one joined by path) every process in the cgroup is killed.
 */
function killsAll(record: ContainerRecord): boolean {
  return !(record.ownPidNamespace ?? record.namespaces.includes("pid"));
}

/**
 * SIGKILL the container's process (and, as killsAll says, whatever else is
 * in its cgroup) and wait until it is gone; returns its pid namespace's
 * inode, by which the processes dying with it are told from others.
 */
function killAndWait(record: ContainerRecord): number | undefined {
  const cgroup = cgroupManagerFromPaths(record.cgroupPaths);
  cgroup.thaw();
  const fd = openProcess(record.pid, record.pidStartTime);
  let pidns: number | undefined;
  if (fd !== undefined) {
    try {
      pidns = pidNamespaceOf(record.pid);
      sendSignal(fd, SIGKILL);
      if (!waitExit(fd, 10_000)) throw new BuncError(`container ${record.id}: process ${record.pid} did not exit after SIGKILL`, { code: "ETIMEDOUT" });
    } finally {
      closeSync(fd);
    }
  }
  if (killsAll(record)) cgroup.signalAll(SIGKILL);
  return pidns;
}

function pidNamespaceOf(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/pid`).ino;
  } catch {
    return undefined;
  }
}

/**
 * A create that never wrote state.json (it failed without undoing, or was
 * killed): the cgroup directories it recorded before making them. Nothing
 * in them is killed, even with -f: the create's own process died with it
 * (its parent-death signal), so processes there now belong to someone else
 * — another container given the same cgroupsPath since — and so does a
 * directory another container's record names. An empty one is removed;
 * one with processes is an error without -f and is left with a warning with
 * it. Returns the warnings.
 */
function removeUnfinished(store: Store, id: string, force: boolean): string[] {
  const recorded = store.loadCgroupPaths(id);
  const mine = recorded ? notOthers(store, id, recorded.paths) : {};
  if (!recorded || Object.keys(mine).length === 0) return [];
  const cgroup = cgroupManagerFromPaths(mine);
  // The create's own child may still be dying (it goes when it sees its parent gone).
  waitFor(() => cgroup.pids().length === 0, 300);
  if (cgroup.pids().length === 0) {
    try {
      cgroup.destroy();
      // Then the parents it made, deepest first, where nothing else has come to live.
      for (const dir of [...recorded.made].reverse()) {
        try {
          rmdirSync(dir);
        } catch {
          // Gone, or in use.
        }
      }
      return [];
    } catch {
      // A process came in meanwhile: as below.
    }
  }
  if (!force) throw new BuncError(`cannot delete container ${id}: it is creating and its cgroup has processes`, { code: "STATE" });
  return [`cgroup ${Object.values(mine)[0]} not removed: processes not of container ${id} are in it (${cgroup.pids().join(" ")})`];
}

/** The recorded cgroup directories that no other container's record names (a cgroupsPath given again since). */
function notOthers(store: Store, id: string, paths: Record<string, string>): Record<string, string> {
  const others = new Set<string>();
  for (const other of store.ids().filter((o) => o !== id)) {
    try {
      for (const dir of Object.values(store.load(other)?.cgroupPaths ?? {})) others.add(dir);
    } catch {
      // Another container's unreadable record names nothing.
    }
  }
  return Object.fromEntries(Object.entries(paths).filter(([, dir]) => !others.has(dir)));
}

/**
 * delete -f of a container whose state.json cannot be read: its process is
 * found through the cgroup directories create recorded before making them
 * (cgroup.json stays beside state.json), killed with whatever is in them,
 * and the directories and the state dir removed.
 */
function deleteCorrupted(store: Store, id: string): string[] {
  const recorded = store.loadCgroupPaths(id);
  const mine = recorded ? notOthers(store, id, recorded.paths) : {};
  const warnings = [`state of container ${id} was corrupted: its processes were found through its cgroup and killed`];
  if (Object.keys(mine).length > 0) {
    cgroupManagerFromPaths(mine).thaw();
    const left = destroyCgroup(mine, { killAll: true });
    if (left) warnings.push(left);
  } else warnings.push(`no cgroup is recorded for container ${id}: its processes, if any, are left running`);
  store.remove(id);
  return warnings;
}

/**
 * rmdir the cgroup; processes that just got SIGKILL may take a moment to
 * leave it. With killAll, what is left is killed again; without, a cgroup
 * still holding processes not of the container (none in its pid namespace,
 * pidns) is left to them with a warning, as runc leaves it (its destroy
 * logs the failed removal and deletes the container all the same).
 */
function destroyCgroup(paths: Record<string, string>, opts: { killAll: boolean; pidns?: number } = { killAll: true }, cgroup: CgroupManager = cgroupManagerFromPaths(paths)): string | undefined {
  const start = performance.now();
  for (let attempt = 0; ; attempt++) {
    try {
      cgroup.destroy();
      return undefined;
    } catch (e) {
      if (attempt >= 100) throw e;
      if (opts.killAll) cgroup.signalAll(SIGKILL);
      else {
        const pids = cgroup.pids();
        const dying = pids.some((p) => opts.pidns !== undefined && pidNamespaceOf(p) === opts.pidns);
        if (pids.length > 0 && !dying && performance.now() - start > 200)
          return `cgroup ${Object.values(paths)[0]} not removed: processes not of the container are in it (${pids.join(" ")})`;
      }
      Bun.sleepSync(10);
    }
  }
}
