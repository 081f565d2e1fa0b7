/**
 * exec: start another process in a running container — in all of its
 * namespaces and its cgroup, with the capabilities, user, rlimits and
 * no_new_privs of the process it is given — and, in the foreground, stay
 * attached to it. The bunc executable itself never enters the container.
 */
import { closeSync } from "node:fs";
import { cgroupManagerFromPaths } from "../cgroups/manager";
import { BuncError } from "../errors";
import { openProcess } from "../linux/pidfd";
import { compileExec } from "../plan/exec";
import type { Process } from "../spec/config";
import { compileSeccomp, consoleFor, lastCap, OCI_VERSION, sendToListener, writePidFile } from "./create";
import { homeOf } from "./passwd";
import { launch } from "./launch";
import { deriveStatus } from "./status";
import type { Store } from "./store";
import { supervise, Terminal } from "./supervise";
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
}

/** Start a process in container id; returns its exit status, or 0 when detached. */
export async function execInContainer(store: Store, id: string, opts: ExecOptions): Promise<number> {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  if (status !== "paused" || !opts.ignorePaused) guard("exec", id, status);
  // undo runs only on failure (it would kill the new process); fds are closed either way.
  const undo = new Undo();
  let pidfd: number | undefined;
  let terminal: Terminal | undefined;
  try {
    pidfd = openProcess(record!.pid, record!.pidStartTime);
    if (pidfd === undefined) throw new BuncError(`cannot exec into container ${id}: container not running`, { code: "STATE" });
    const warnings: string[] = [];
    if (opts.process.terminal && !opts.consoleSocket && !opts.detach) terminal = new Terminal();
    const consoleFd = consoleFor(opts.process.terminal === true, { consoleFd: terminal?.childEnd, consoleSocket: opts.consoleSocket }, undo);
    const plan = compileExec({
      process: opts.process,
      pidfd,
      namespaces: record!.namespaces,
      preserveFds: opts.preserveFds ?? 0,
      consoleFd,
      home: homeOf(`/proc/${record!.pid}/root`, opts.process.user?.uid ?? 0),
      seccomp: record!.seccomp ? compileSeccomp(record!.seccomp, warnings) : undefined,
      lastCap: lastCap(),
    });
    for (const w of [...warnings, ...plan.warnings]) opts.onWarning?.(w);
    const cgroup = cgroupManagerFromPaths(record!.cgroupPaths);
    const child = launch(plan.ops, plan.cloneFlags, (firstPid) => cgroup.addProcess(firstPid), undo, {
      onSeccomp: (fd, pid) => {
        try {
          sendToListener(record!.seccomp!, fd, { ociVersion: OCI_VERSION, id, status: "running", pid, bundle: record!.bundle, annotations: record!.annotations });
        } finally {
          closeSync(fd);
        }
      },
    });
    if (opts.pidFile) writePidFile(opts.pidFile, child.pid);
    if (opts.detach) {
      closeSync(child.pidfd);
      return 0;
    }
    return await supervise(child.pidfd, child.pid, terminal?.attach());
  } catch (e) {
    undo.run();
    throw e;
  } finally {
    terminal?.close();
    if (pidfd !== undefined) closeSync(pidfd);
  }
}
