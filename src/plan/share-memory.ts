/**
 * Whether the setup child may share the parent's memory (clone3 CLONE_VM)
 * until it execs, as posix_spawn's vfork does. A plain fork of Bun's address
 * space copies the page tables of ~30 MiB and tears the copy down again at
 * execve: ~1.3 ms of every container start, measured on this host against
 * ~0.05 ms with CLONE_VM. The executor is built for it (raw syscalls, a stack
 * and a copy of the program of its own, see ffi/executor.c), but the kernel
 * or the lifecycle rule it out in these cases:
 *  - a user namespace, new or joined: unshare(2) and setns(2) refuse a caller
 *    whose memory is shared (EINVAL);
 *  - a time namespace: clone(2) refuses CLONE_VM once the children's time
 *    namespace differs (EINVAL), and setns(2) to one wants a single user of
 *    the memory (EUSERS);
 *  - a process that waits for `start` (create): it would keep all of the
 *    exited runtime's memory alive instead of its few copied pages;
 *  - process.oomScoreAdj: the kernel applies a write to oom_score_adj to
 *    every process that shares the memory, so the runtime would take it too;
 *  - a memory limit on the container's cgroup: the OOM killer scores a task by
 *    the size of its memory — the runtime's, tens of MiB — so the setup child
 *    would be the cgroup's likeliest victim, and killing it kills every
 *    process sharing that memory, the runtime too (mm/oom_kill.c);
 *  - a process that joins a paused container (exec --ignore-paused): it stays
 *    frozen, keeping all of the exited runtime's memory alive, as create would;
 *  - an unprivileged runtime: the shared memory becomes non-dumpable, and so
 *    the runtime's own /proc files root's.
 * Known and accepted: a v1 cpuset with memory_migrate=1 (not the default)
 * would migrate the runtime's pages too when the child joins it.
 */
export const CLONE_VM = 0x100n;

export interface SharingFacts {
  /** The child goes on to execve once set up (run, run -d, exec), no exec FIFO. */
  execsAtOnce: boolean;
  /** Every namespace type the child creates or joins. */
  namespaces: Iterable<string>;
  oomScoreAdj?: number;
  /** The container's cgroup has a memory limit (linux.resources.memory.limit, as in force). */
  memoryLimited: boolean;
  /** The runtime's effective uid is 0. */
  privileged: boolean;
}

/** Whether linux.resources limits memory (a positive limit; -1 and 0 mean none). */
export function limitsMemory(resources: { memory?: { limit?: number } } | undefined): boolean {
  return (resources?.memory?.limit ?? -1) > 0;
}

export function shareMemory(facts: SharingFacts): boolean {
  if (!facts.execsAtOnce || !facts.privileged || facts.oomScoreAdj !== undefined || facts.memoryLimited) return false;
  for (const t of facts.namespaces) if (t === "user" || t === "time") return false;
  return true;
}
