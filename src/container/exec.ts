/**
 * exec: start another process in a running container — in all of its
 * namespaces and its cgroup, with the capabilities, user, rlimits and
 * no_new_privs of the process it is given — and, in the foreground, stay
 * attached to it. The bunc executable itself never enters the container.
 */
import { closeSync } from "node:fs";
import { openJoin } from "../cgroups/join";
import { cgroupManagerFromPaths } from "../cgroups/manager";
import { BuncError } from "../errors";
import { posix as path } from "node:path";
import { subCgroupPaths } from "../cgroups/sub";
import { openProcess } from "../linux/pidfd";
import { connectUnix, sendPidfd } from "../linux/socket";
import { compileExec } from "../plan/exec";
import { limitsMemory } from "../plan/share-memory";
import type { Process } from "../spec/config";
import { compileSeccomp, consoleFor, lastCap, OCI_VERSION, sendToListener, writePidFile } from "./create";
import { homeOf } from "./passwd";
import { launch } from "./launch";
import { deriveStatus } from "./status";
import type { ContainerRecord, Store } from "./store";
import { setgroupsDenied } from "./rootless";
import { SignalForwarder, supervise, Terminal } from "./supervise";
import { guard } from "./transitions";
import { Undo } from "./undo";

export interface ExecOptions {
  /** Called with each warning (an unknown syscall name, a capability this kernel lacks). */
  onWarning?: (msg: string) => void;
  process: Process;
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  ignorePaused?: boolean;
  /** --cgroup: sub-cgroups of the container's to run in ("[controller[,…]:]path"). */
  cgroups?: string[];
  /** --pidfd-socket: a unix socket that receives a pidfd of the new process. */
  pidfdSocket?: string;
}

/** The record of container id if exec may enter it now (running or created; paused only with ignorePaused). */
export function execTarget(store: Store, id: string, ignorePaused = false): ContainerRecord & { paused: boolean } {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  if (status === "paused" && !ignorePaused)
    throw new BuncError(`cannot exec in a paused container ${id} (use --ignore-paused to override)`, { code: "STATE" });
  if (status !== "paused") guard("exec", id, status);
  return { ...record!, paused: status === "paused" };
}

/** Start a process in container id; returns its exit status, or 0 when detached. */
export async function execInContainer(store: Store, id: string, opts: ExecOptions): Promise<number> {
  const record = execTarget(store, id, opts.ignorePaused);
  // Into a paused container the process joins the frozen cgroup last, as it is about to execve.
  const paused = record.paused;
  const cgroupPaths = subCgroupPaths(record.cgroupPaths, opts.cgroups ?? []);
  // undo runs only on failure (it would kill the new process); closers run either way.
  const undo = new Undo();
  // Signals for a foreground process are caught from the start (see SignalForwarder).
  const forwarder = opts.detach ? undefined : new SignalForwarder();
  const closers = new Undo();
  let pidfd: number | undefined;
  let terminal: Terminal | undefined;
  try {
    pidfd = openProcess(record.pid, record.pidStartTime);
    if (pidfd === undefined) throw new BuncError(`cannot exec into container ${id}: container not running`, { code: "STATE" });
    const warnings: string[] = [];
    if (opts.process.terminal && !opts.consoleSocket && opts.detach)
      throw new BuncError("cannot allocate tty if bunc will detach without setting console socket (--console-socket)", { code: "EINVAL" });
    if (opts.process.terminal && !opts.consoleSocket) terminal = new Terminal();
    // Connected before the process exists: a bad path fails with nothing started.
    const pidfdSocket = opts.pidfdSocket === undefined ? undefined : connectUnix(path.resolve(opts.pidfdSocket), "pidfd socket");
    if (pidfdSocket !== undefined) closers.push(() => closeSync(pidfdSocket));
    const consoleFd = consoleFor(opts.process.terminal === true, { consoleFd: terminal?.childEnd, consoleSocket: opts.consoleSocket }, closers);
    const cgroup = cgroupManagerFromPaths(cgroupPaths);
    // The process enters the cgroup itself (src/cgroups/join.ts), unless the container is
    // paused: then the parent places it as its very last step (see joinCgroupLast).
    const join = paused ? undefined : openJoin(cgroup);
    if (join) closers.push(() => join.close());
    const plan = compileExec({
      process: opts.process,
      pidfd,
      namespaces: record.namespaces,
      preserveFds: opts.preserveFds ?? 0,
      consoleFd,
      consoleRelayed: terminal !== undefined,
      home: homeOf(`/proc/${record.pid}/root`, opts.process.user?.uid ?? 0),
      seccomp: record.seccomp ? compileSeccomp(record.seccomp, warnings) : undefined,
      lastCap: lastCap(),
      joinCgroupLast: paused,
      cgroupTaskFds: join?.taskFds,
      privileged: process.geteuid?.() === 0,
      setgroupsDenied: setgroupsDenied(record.namespaces.includes("user") ? record.pid : "self"),
      // A record from before resources were kept says nothing: then the child does not share memory.
      memoryLimited: record.resources === undefined ? undefined : limitsMemory(record.resources),
      memoryPolicy: record.memoryPolicy,
    });
    for (const w of [...warnings, ...plan.warnings]) opts.onWarning?.(w);
    const child = launch(plan.ops, plan.cloneFlags, (firstPid, inCgroup) => {
      if (join && join.cloneIntoFd >= 0 && !inCgroup) cgroup.addProcess(firstPid);
    }, undo, {
      cgroupFd: join && join.cloneIntoFd >= 0 ? join.cloneIntoFd : undefined,
      stage: "setns_init",
      onJoin: (pid) => cgroup.addProcess(pid),
      onSeccomp: (fd, pid) => {
        try {
          sendToListener(record.seccomp!, fd, { ociVersion: OCI_VERSION, id, status: "running", pid, bundle: record.bundle, annotations: record.annotations });
        } finally {
          closeSync(fd);
        }
      },
    });
    if (pidfdSocket !== undefined) sendPidfd(pidfdSocket, child.pidfd, "setns");
    closers.run();
    if (opts.pidFile) writePidFile(opts.pidFile, child.pid);
    if (opts.detach) {
      closeSync(child.pidfd);
      return 0;
    }
    return await supervise(child.pidfd, child.pid, terminal?.attach(), forwarder);
  } catch (e) {
    undo.run();
    throw e;
  } finally {
    forwarder?.close();
    closers.run();
    terminal?.close();
    if (pidfd !== undefined) closeSync(pidfd);
  }
}
