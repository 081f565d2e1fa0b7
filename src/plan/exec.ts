/**
 * process (exec) → setup program: join every namespace of the container's
 * process at once through its pidfd (setns(2) with a pidfd, Linux 5.8), fork
 * once more when that includes a PID or time namespace, then become the new
 * process as create does. The parent puts the child in the container's
 * cgroup before it joins anything (the SYNC).
 */
import { BuncError } from "../errors";
import type { LinuxMemoryPolicy, Process } from "../spec/config";
import { memoryPolicyStep } from "./mempolicy";
import type { SetupPlan } from "./compile";
import { NAMESPACE_FLAG, type NamespaceType } from "./namespaces";
import { compileProcess, type Add, type CompiledSeccomp } from "./process";
import { cpuMask } from "./sched";
import { Msg, Op, type Operation } from "./program";
import { CLONE_VM, shareMemory } from "./share-memory";

export interface ExecInput {
  process: Process;
  /** A pidfd of the container's process, whose namespaces are joined. */
  pidfd: number;
  /** The container's namespace types. */
  namespaces: readonly string[];
  preserveFds: number;
  /** With process.terminal: the socket that receives the pty master. */
  consoleFd?: number;
  /** bunc itself relays the terminal (exec in the foreground): ONLCR is cleared, as runc's tty does. */
  consoleRelayed?: boolean;
  home: string;
  seccomp?: CompiledSeccomp;
  lastCap?: number;
  /** The container is paused (exec --ignore-paused): join its frozen cgroup as the very last step. */
  joinCgroupLast?: boolean;
  /** Open v1 "tasks" files the child writes "0" to, first of all (src/cgroups/join.ts). */
  cgroupTaskFds?: readonly number[];
  /** The runtime runs as root (see share-memory.ts). */
  privileged: boolean;
  /** setgroups(2) is denied in the container's user namespace (see ProcessContext). */
  setgroupsDenied?: boolean;
  /** The container's cgroup has a memory limit (see share-memory.ts); unknown counts as limited. */
  memoryLimited?: boolean;
  /** The container's linux.memoryPolicy: runc applies it to exec'd processes too. */
  memoryPolicy?: LinuxMemoryPolicy;
}

const SIGKILL = 9;

export function compileExec(input: ExecInput): SetupPlan {
  const ops: Operation[] = [];
  const add: Add = (code, what, fields = {}) => ops.push({ code, what, ...fields });
  let flags = 0;
  for (const t of input.namespaces) flags |= NAMESPACE_FLAG[t as NamespaceType] ?? 0;
  const affinity = input.process.execCPUAffinity;
  const setAffinity = (list: string | undefined, which: string) => {
    if (!list) return;
    const mask = cpuMask(list, `process.execCPUAffinity.${which}`);
    add(Op.AFFINITY, `set the ${which} CPU affinity ${list}`, { n: [{ bytes: mask }, mask.length] });
  };
  // initial before the cgroup placement, final once in the container's cgroup (its cpuset resets affinity).
  setAffinity(affinity?.initial, "initial");
  for (const fd of input.cgroupTaskFds ?? []) add(Op.WRITE_FD, "join the container's cgroup", { fd, s: [undefined, "0"] });
  add(Op.SYNC, "wait for the parent's setup", { n: [Msg.SETUP] });
  setAffinity(affinity?.final, "final");
  if (flags) add(Op.SETNS, "join the container's namespaces", { fd: input.pidfd, n: [flags] });
  // A PID or time namespace applies to children only (pid_namespaces(7), time_namespaces(7)).
  if (input.namespaces.includes("pid") || input.namespaces.includes("time")) add(Op.FORK, "fork into the container's namespaces");
  add(Op.PDEATHSIG, "set the parent-death signal", { n: [SIGKILL] });
  // Host root is unmapped in the container's user namespace: become its root (as runc's
  // nsexec), so that what the process creates from here on, its pty first, is owned inside it.
  if (input.namespaces.includes("user")) {
    add(Op.SETRESGID, "become gid 0 in the user namespace", { n: [0] });
    add(Op.SETRESUID, "become uid 0 in the user namespace", { n: [0] });
  }
  if (input.process.terminal) {
    if (input.consoleFd === undefined) throw new BuncError("exec with a terminal needs a console socket (--console-socket) when bunc does not stay attached", { code: "EINVAL" });
    const size = input.process.consoleSize;
    add(Op.CONSOLE, "set up the console", { fd: input.consoleFd, n: [size?.height ?? 0, size?.width ?? 0, 0, input.consoleRelayed ? 1 : 0] });
  }
  const warnings: string[] = [];
  compileProcess(input.process, { home: input.home, preserveFds: input.preserveFds, seccomp: input.seccomp, lastCap: input.lastCap, warnings, joinCgroupLast: input.joinCgroupLast, rootlessEUID: !input.privileged, setgroupsDenied: input.setgroupsDenied, memoryPolicy: input.memoryPolicy ? memoryPolicyStep(input.memoryPolicy) : undefined }, add);
  const shared = shareMemory({
    execsAtOnce: !input.joinCgroupLast,
    namespaces: input.namespaces,
    oomScoreAdj: input.process.oomScoreAdj,
    memoryLimited: input.memoryLimited ?? true,
    privileged: input.privileged,
  });
  return { ops, cloneFlags: shared ? CLONE_VM : 0n, procWrites: [], warnings };
}
