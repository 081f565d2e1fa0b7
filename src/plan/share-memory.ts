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
 *  - an unprivileged runtime: the shared memory becomes non-dumpable, and so
 *    the runtime's own /proc files root's.
 */
export const CLONE_VM = 0x100n;

export interface SharingFacts {
  /** The child goes on to execve once set up (run, run -d, exec), no exec FIFO. */
  execsAtOnce: boolean;
  /** Every namespace type the child creates or joins. */
  namespaces: Iterable<string>;
  oomScoreAdj?: number;
  /** The runtime's effective uid is 0. */
  privileged: boolean;
}

export function shareMemory(facts: SharingFacts): boolean {
  if (!facts.execsAtOnce || !facts.privileged || facts.oomScoreAdj !== undefined) return false;
  for (const t of facts.namespaces) if (t === "user" || t === "time") return false;
  return true;
}
