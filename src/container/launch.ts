/**
 * Starting a setup program (create and exec): clone3 the executor's child,
 * answer it on the sync socket — its SETUP request (id maps, cgroup
 * placement), the pid of a grandchild it forked, a failed step — until it
 * reports READY. On any failure the child is killed.
 */
import { closeSync } from "node:fs";
import { receiveFd, spawn } from "../../ffi/executor";
import { BuncError } from "../errors";
import { debug } from "../debug";
import { errnoText } from "../linux/errno";
import { readFull, socketPair, writeFull } from "../linux/fs";
import { errnoError, rawSyscall, SYS } from "../linux/libc";
import { openChild, sendSignal, takeFd, waitExit } from "../linux/pidfd";
import { procStat } from "../linux/proc";
import { signalText } from "../linux/signals";
import { encode, Msg, Op, type Operation } from "../plan/program";

/** executor.c's HOOK_STATUS: a hook's wait status rides in the errno field with this bit. */
const HOOK_STATUS = 0x100000;
const E2BIG = 7;
const EINVAL = 22;
const ENOTDIR = 20;
const ELOOP = 40;
import type { Undo } from "./undo";

export interface Launched {
  pid: number;
  /** A pidfd of the process, owned by the caller. */
  pidfd: number;
  /** /proc/PID/stat field 22 of the process. */
  startTime: string;
  /**
   * For a process that waits for start (create): it also waits, on the sync socket, for
   * its creator to say create is done; release() says so. Should the creator die before
   * (killed half-way), the socket's end reaches the child instead and it exits: a create
   * that did not finish leaves no container process behind.
   */
  release?: () => void;
}

/** The parent's parts at later sync points; the child waits while each runs. */
export interface LaunchHandlers {
  /** HOOKS: before pivot_root; pid is the container's process. */
  onHooks?: (pid: number) => void;
  /** SECCOMP: the filter's listener fd (the handler closes it). */
  onSeccomp?: (fd: number, pid: number) => void;
  /** IDMAP: a detached tree of an idmapped bind mount, cloned by OP_BIND number opIndex (the handler does not close it). */
  onIdmap?: (tree: number, opIndex: number) => void;
  /** Msg.READY_TO_JOIN: place the (final) process in its cgroup; it is ready then. */
  onJoin?: (pid: number) => void;
  /** For --debug: the container's first process ("init", the default) or exec's ("setns_init"), runc's names. */
  stage?: "init" | "setns_init";
}

/**
 * Run ops in a new child; onSetup(firstPid, inCgroup) runs when the child
 * asks for the parent's part (it is still blocked then). With cgroupFd the
 * child is born in that cgroup (CLONE_INTO_CGROUP) and inCgroup is true; a
 * kernel without it (before 5.7: E2BIG) gets a plain clone3, and onSetup
 * places the child. undo learns how to kill the child.
 */
export function launch(planned: readonly Operation[], cloneFlags: bigint, onSetup: (firstPid: number, inCgroup: boolean) => void, undo: Undo, handlers: LaunchHandlers & { cgroupFd?: number } = {}): Launched {
  const [parentEnd, childEnd] = socketPair();
  // The child is a copy of us, our end of the socket included: it closes that first, so that
  // our death (the only holder left) ends its reads — see Launched.release.
  const ops: Operation[] = [{ code: Op.CLOSE, what: "close the parent's end of the sync socket", fd: parentEnd }, ...planned];
  // Handlers are told step numbers of the planned ops, without the one put first here.
  const planIndex = (index: number) => index - (ops.length - planned.length);
  let child: ReturnType<typeof spawn>;
  let inCgroup = handlers.cgroupFd !== undefined;
  try {
    const program = encode(ops, childEnd);
    debug.log?.(`nsexec container setup: clone3 (flags 0x${cloneFlags.toString(16)}) of the executor, ${ops.length} steps to run`);
    child = spawn(program, cloneFlags, handlers.cgroupFd ?? -1);
    if (inCgroup && (child === -E2BIG || child === -EINVAL)) {
      inCgroup = false;
      child = spawn(program, cloneFlags);
    }
  } finally {
    closeSync(childEnd);
  }
  if (typeof child === "number") {
    closeSync(parentEnd);
    throw errnoError("clone3", -child);
  }
  const first = child;
  debug.log?.(`child process in init(): pid ${first.pid} runs the setup program`);
  undo.push(() => {
    sendSignal(first.pidfd, 9);
    waitExit(first.pidfd, 1000);
    closeSync(first.pidfd);
  });
  let pid: number;
  const forked = { pid: first.pid };
  // The child's READY is a SYNC (it waits for a reply) when it is to wait for release().
  const waitsForRelease = ops.some((op) => op.code === Op.SYNC && op.n?.[0] === Msg.READY);
  let released = false;
  try {
    pid = serve(parentEnd, first.pid, ops, (p) => onSetup(p, inCgroup), forked, { ...handlers, onIdmap: handlers.onIdmap && ((tree, index) => handlers.onIdmap!(tree, planIndex(index))) });
  } catch (e) {
    // A forked grandchild that failed is our child (CLONE_PARENT): reap it, or it would
    // linger as a zombie under the container's init once we exit.
    if (forked.pid !== first.pid) rawSyscall(SYS.waitid, 1 /* P_PID */, forked.pid, new Int32Array(32), 4 /* WEXITED */, null);
    throw e;
  } finally {
    if (!waitsForRelease) closeSync(parentEnd);
  }
  if (waitsForRelease) undo.push(() => void (released || closeSync(parentEnd)));
  const release = waitsForRelease
    ? () => {
        if (released) return;
        released = true;
        try {
          writeFull(parentEnd, new Uint8Array(new Int32Array([Msg.GO, 0, 0, 0]).buffer));
        } finally {
          closeSync(parentEnd);
        }
      }
    : undefined;
  let pidfd = first.pidfd;
  if (pid !== first.pid) {
    // The executor forked once more (PID or time namespace): the process is the grandchild,
    // our child too (CLONE_PARENT), so it cannot be reaped and recycled behind our back.
    const fd = openChild(pid);
    undo.push(() => {
      sendSignal(fd, 9);
      closeSync(fd);
    });
    waitExit(first.pidfd, 1000);
    closeSync(first.pidfd);
    pidfd = fd;
  }
  const startTime = procStat(pid)?.startTime;
  if (startTime === undefined) throw new BuncError("container process exited during setup", { code: "ESRCH" });
  debug.log?.(readyNote(ops, pid, handlers.stage ?? "init"));
  return { pid, pidfd, startTime, release };
}

/** Answer the child until it is ready; returns the pid of the process that will execve. */
function serve(sock: number, firstPid: number, ops: readonly Operation[], onSetup: (firstPid: number) => void, forked: { pid: number }, handlers: LaunchHandlers): number {
  const buf = new Uint8Array(16);
  const msg = new Int32Array(buf.buffer);
  let pid = firstPid;
  // With an OP_FORK the grandchild goes on at once while its parent reports its pid: the
  // grandchild's next message (from a step after the fork) can overtake that report. Under load
  // it did: READY came first, and exec waited on the parent, which exits at once (status 0 while
  // the process ran on). Such a message waits here until the pid is known.
  const forkAt = ops.findIndex((op) => op.code === Op.FORK);
  let pidKnown = forkAt < 0;
  let early: Int32Array | undefined;
  for (;;) {
    if (early && pidKnown) {
      msg.set(early);
      early = undefined;
    } else if (!readFull(sock, buf)) throw new BuncError("container process exited during setup without a report", { code: "ECHILD" });
    const [type, index, err, msgPid] = msg;
    if (!pidKnown && type !== Msg.PID && type !== Msg.ERROR && index! > forkAt) {
      early = msg.slice();
      continue;
    }
    switch (type) {
      case Msg.SETUP:
        onSetup(firstPid);
        msg.set([Msg.GO, 0, 0, 0]);
        writeFull(sock, buf);
        break;
      case Msg.HOOKS:
        handlers.onHooks?.(pid);
        msg.set([Msg.GO, 0, 0, 0]);
        writeFull(sock, buf);
        break;
      case Msg.SECCOMP:
      case Msg.SECCOMP_FD: {
        // The listener fd, sent (SCM_RIGHTS) or, from a root bunc's child, taken by its number.
        const fd = type === Msg.SECCOMP ? receiveFd(sock) : takeFd(pid, msgPid!);
        if (fd < 0) throw errnoError("receive the seccomp listener fd", -fd);
        if (handlers.onSeccomp) handlers.onSeccomp(fd, pid);
        else closeSync(fd);
        msg.set([Msg.GO, 0, 0, 0]);
        writeFull(sock, buf);
        break;
      }
      case Msg.IDMAP: {
        const fd = receiveFd(sock);
        if (fd < 0) throw errnoError("receive an idmapped mount's tree", -fd);
        try {
          if (!handlers.onIdmap) throw new BuncError("unexpected idmapped mount from the container process", { code: "EPROTO" });
          handlers.onIdmap(fd, index!);
        } finally {
          closeSync(fd);
        }
        msg.set([Msg.GO, 0, 0, 0]);
        writeFull(sock, buf);
        break;
      }
      case Msg.PID:
        pid = forked.pid = msgPid!;
        pidKnown = true;
        break;
      case Msg.READY:
        return pid;
      case Msg.READY_TO_JOIN:
        // The child's last step before execve: it is placed now and may stop at once
        // (a frozen cgroup), so this is its ready; it reads the GO when it runs again.
        handlers.onJoin?.(pid);
        msg.set([Msg.GO, 0, 0, 0]);
        writeFull(sock, buf);
        return pid;
      case Msg.ERROR:
        throw stepError(ops[index!], err!);
      default:
        throw new BuncError(`unexpected message ${type} from the container process`, { code: "EPROTO" });
    }
  }
}

/** runc's debug line at the end of its init, then what bunc's process does next. */
function readyNote(ops: readonly Operation[], pid: number, stage: "init" | "setns_init"): string {
  const exec = ops.find((op) => op.code === Op.EXEC)?.what ?? "exec";
  if (stage === "setns_init") return `setns_init: about to exec: pid ${pid} is set up and goes on to ${exec}`;
  const waits = ops.some((op) => op.code === Op.FIFO_WAIT);
  return `init: closing the pipe to signal completion: pid ${pid} is set up and ${waits ? `waits on the exec fifo to ${exec}` : `goes on to ${exec}`}`;
}

/** "mount \"proc\" to \"/proc\": operation not permitted"; a missing program reads as runc's. */
function stepError(op: Operation | undefined, errno: number): BuncError {
  const what = op?.what ?? "container setup";
  if (op?.code === Op.HOOK && errno & HOOK_STATUS) {
    const status = errno & 0xffff;
    const how = status & 0x7f ? signalText(status & 0x7f) : `exit status ${status >> 8}`;
    return new BuncError(`${what.replace(/^run /, "")} failed: ${how}`, { code: "HOOK" });
  }
  if (op?.code === Op.HOOK && errno === 110) return new BuncError(`${what.replace(/^run /, "")} failed: timed out`, { code: "HOOK", errno });
  if (op?.code === Op.VERIFY_CWD)
    return new BuncError(`unable to start container process: current working directory is outside of container mount namespace root -- possible container breakout detected (${what})`, { code: "ESETUP", errno });
  // runc refuses a proc or sysfs over anything but a plain directory in these words (mask.bats matches them).
  const fstype = op?.code === Op.MOUNT ? op.s?.[2] : undefined;
  if ((fstype === "proc" || fstype === "sysfs") && (errno === ELOOP || errno === ENOTDIR))
    return new BuncError(`unable to start container process: ${what}: filesystem ${JSON.stringify(fstype)} must be mounted on ordinary directory (${errnoText(errno)})`, { code: "ESETUP", errno });
  if (what.startsWith("exec: ") && errno === 2) {
    // As Go's exec.LookPath that runc uses: a name with a slash is not searched in $PATH, it is stat'ed.
    const arg0 = JSON.parse(what.slice("exec: ".length)) as string;
    const why = arg0.includes("/") ? `stat ${arg0}: no such file or directory` : "executable file not found in $PATH";
    return new BuncError(`unable to start container process: ${what}: ${why}`, { code: "ENOENT", errno });
  }
  return new BuncError(`unable to start container process: ${what}: ${errnoText(errno)}`, { code: "ESETUP", errno });
}
