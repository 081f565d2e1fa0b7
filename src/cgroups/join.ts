/**
 * Entering the container's cgroups without the parent writing cgroup.procs.
 *
 * Moving a whole process (a cgroup.procs write) takes the global
 * cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period:
 * measured here at 5–25 ms, most of a create. Two ways skip it
 * (kernel/cgroup/cgroup.c, cgroup_procs_write_start): a thread moving itself
 * through a v1 "tasks" file (our child is single-threaded, so that moves the
 * process), and clone3's CLONE_INTO_CGROUP for a cgroup2 hierarchy
 * (clone(2)). The parent opens the files; the child writes "0" to each.
 */
import { closeSync, constants, openSync } from "node:fs";
import { BuncError } from "../errors";
import type { CgroupManager } from "./manager";

export interface CgroupJoin {
  /** Open v1 "tasks" files: the child writes "0" to each (Op.WRITE_FD). */
  taskFds: number[];
  /** An open cgroup2 directory for CLONE_INTO_CGROUP, or -1. */
  cloneIntoFd: number;
  close(): void;
}

/** Open what a new process needs to join the manager's cgroups by itself. */
export function openJoin(cgroup: CgroupManager): CgroupJoin {
  const { tasks, cloneInto } = cgroup.joinTargets();
  const fds: number[] = [];
  const close = () => {
    for (const fd of fds.splice(0)) closeSync(fd);
  };
  try {
    const taskFds = tasks.map((file) => {
      const fd = openSync(file, constants.O_WRONLY);
      fds.push(fd);
      return fd;
    });
    let cloneIntoFd = -1;
    if (cloneInto) {
      cloneIntoFd = openSync(cloneInto, constants.O_RDONLY | constants.O_DIRECTORY);
      fds.push(cloneIntoFd);
    }
    return { taskFds, cloneIntoFd, close };
  } catch (e) {
    close();
    throw new BuncError(`open the container's cgroup: ${(e as Error).message}`, { code: "CGROUP", cause: e });
  }
}
