/**
 * create (and the first half of run): validate the bundle, claim the id,
 * make the cgroup, clone the container's process through the C executor,
 * answer its requests (id maps, cgroup placement), and record the facts
 * once it waits on the exec FIFO. Any failure undoes everything.
 */
import { closeSync, openSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync, constants } from "node:fs";
import { posix as path } from "node:path";
import { spawn } from "../../ffi/executor";
import { cgroupManager, type CgroupManager } from "../cgroups/manager";
import { BuncError } from "../errors";
import { errnoError } from "../linux/libc";
import { mkfifo, readFull, socketPair, writeFull } from "../linux/fs";
import { openProcess, sendSignal, waitExit } from "../linux/pidfd";
import { procStat } from "../linux/proc";
import { connectUnix } from "../linux/socket";
import { errnoText } from "../linux/errno";
import { compile } from "../plan/compile";
import type { NamespaceType } from "../plan/namespaces";
import { encode, Msg, type Operation } from "../plan/program";
import { loadBundle } from "./bundle";
import { refuseUnsupported } from "./unsupported";
import { EXEC_FIFO, Store, type ContainerRecord } from "./store";

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** run: no exec FIFO, the process goes on to execve as soon as it is set up. */
  startNow?: boolean;
  /** --console-socket: where the pty master goes when process.terminal is set. */
  consoleSocket?: string;
  /** An fd (a socket) to send the pty master to instead, for run in the foreground. */
  consoleFd?: number;
}

export interface Created {
  record: ContainerRecord;
  /** A pidfd of the container's process (the caller closes it). */
  pidfd: number;
}

/** The OCI version of the state this bunc writes. */
export const OCI_VERSION = "1.3.0";

const O_PATH = 0o10000000;

/** Create a container; returns once its process waits for start (or, with startNow, is about to exec). */
export function createContainer(store: Store, opts: CreateOptions): Created {
  const bundle = path.resolve(opts.bundle);
  const spec = loadBundle(bundle);
  refuseUnsupported(spec);
  const rootfs = path.resolve(bundle, spec.root?.path ?? "rootfs");
  if (!isDirectory(rootfs)) throw new BuncError(`rootfs (${JSON.stringify(rootfs)}) does not exist or is not a directory`, { code: "ENOENT" });

  const cleanup: (() => void)[] = [];
  const undo = () => {
    for (const f of cleanup.reverse()) {
      try {
        f();
      } catch {
        // Best effort: the first error is the one reported.
      }
    }
  };
  try {
    const joined = openNamespaces(spec.linux?.namespaces ?? [], cleanup);
    const dir = store.claim(opts.id);
    cleanup.push(() => store.remove(opts.id));
    // No flock here: the mkdir of claim() is create's exclusivity, and the child
    // inherits every fd until execve, so a lock taken now would outlive create.
    const dirFd = openSync(dir, O_PATH | constants.O_DIRECTORY);
    cleanup.push(() => closeSync(dirFd));

    const cgroup = cgroupManager(opts.id, spec.linux?.cgroupsPath);
    cgroup.create();
    cleanup.push(() => cgroup.destroy());
    cgroup.apply(spec.linux?.resources);

    if (!opts.startNow) mkfifo(path.join(dir, EXEC_FIFO), 0o622);
    let consoleFd = opts.consoleFd;
    if (spec.process?.terminal && consoleFd === undefined && opts.consoleSocket) {
      const fd = connectUnix(path.resolve(opts.consoleSocket));
      cleanup.push(() => closeSync(fd));
      consoleFd = fd;
    }
    const [parentEnd, childEnd] = socketPair();
    cleanup.push(() => closeSync(parentEnd));

    const plan = compile({
      spec,
      rootfs,
      bundle,
      joined,
      fifo: opts.startNow ? undefined : { dirFd, name: EXEC_FIFO },
      preserveFds: opts.preserveFds ?? 0,
      noPivot: opts.noPivot ?? false,
      noNewKeyring: opts.noNewKeyring ?? false,
      consoleFd,
      id: opts.id,
      cgroupBinds: cgroup.binds(),
      isDirectory,
      home: homeOf(rootfs, spec.process?.user.uid ?? 0),
    });
    const child = spawn(encode(plan.ops, childEnd), plan.cloneFlags);
    closeSync(childEnd);
    if (typeof child === "number") throw errnoError("clone3", -child);
    cleanup.push(() => {
      sendSignal(child.pidfd, 9);
      waitExit(child.pidfd, 1000);
      closeSync(child.pidfd);
    });

    const pid = serveChild(parentEnd, child.pid, plan.ops, plan.newUserNamespace ? spec.linux : undefined, cgroup);
    let pidfd = child.pidfd;
    if (pid !== child.pid) {
      // The executor forked once more (new PID or time namespace): the container is the grandchild.
      const fd = openProcess(pid, procStat(pid)?.startTime ?? "");
      if (fd === undefined) throw new BuncError("container process exited during setup", { code: "ESRCH" });
      cleanup.push(() => {
        sendSignal(fd, 9);
        closeSync(fd);
      });
      waitExit(child.pidfd, 1000);
      pidfd = fd;
    }
    const startTime = procStat(pid)?.startTime;
    if (startTime === undefined) throw new BuncError("container process exited during setup", { code: "ESRCH" });
    const record: ContainerRecord = {
      ociVersion: OCI_VERSION,
      id: opts.id,
      pid,
      pidStartTime: startTime,
      bundle,
      rootfs,
      created: rfc3339Now(),
      owner: "",
      annotations: spec.annotations,
      cgroupPaths: cgroup.paths,
    };
    store.save(record);
    if (opts.pidFile) writePidFile(opts.pidFile, pid);
    closeSync(parentEnd);
    closeSync(dirFd);
    if (consoleFd !== undefined && consoleFd !== opts.consoleFd) closeSync(consoleFd);
    if (pidfd !== child.pidfd) closeSync(child.pidfd);
    return { record, pidfd };
  } catch (e) {
    undo();
    throw e;
  }
}

/**
 * Answer the child on the sync socket until it is ready: write its id maps
 * and move it into its cgroup when it asks (Msg.SETUP), note the pid of a
 * forked grandchild (Msg.PID), turn a failure (Msg.ERROR) into an error
 * naming the step. Returns the container's pid.
 */
function serveChild(
  sock: number,
  firstPid: number,
  ops: readonly Operation[],
  idMaps: NonNullable<ReturnType<typeof loadBundle>["linux"]> | undefined,
  cgroup: CgroupManager,
): number {
  const buf = new Uint8Array(16);
  const msg = new Int32Array(buf.buffer);
  let pid = firstPid;
  for (;;) {
    if (!readFull(sock, buf)) throw new BuncError("container process exited during setup without a report", { code: "ECHILD" });
    const [type, index, err, msgPid] = msg;
    switch (type) {
      case Msg.SETUP:
        if (idMaps) writeIdMaps(firstPid, idMaps);
        cgroup.addProcess(firstPid);
        msg.set([Msg.GO, 0, 0, 0]);
        writeFull(sock, buf);
        break;
      case Msg.PID:
        pid = msgPid!;
        break;
      case Msg.READY:
        return pid;
      case Msg.ERROR:
        throw stepError(ops[index!], err!);
      default:
        throw new BuncError(`unexpected message ${type} from the container process`, { code: "EPROTO" });
    }
  }
}

/** "mount \"proc\" to \"/proc\": operation not permitted"; a missing program reads as runc's. */
function stepError(op: Operation | undefined, errno: number): BuncError {
  const what = op?.what ?? "container setup";
  if (what.startsWith("exec: ") && errno === 2)
    return new BuncError(`unable to start container process: ${what}: executable file not found in $PATH`, { code: "ENOENT", errno });
  return new BuncError(`unable to start container process: ${what}: ${errnoText(errno)}`, { code: "ESETUP", errno });
}

function writeIdMaps(pid: number, linux: NonNullable<ReturnType<typeof loadBundle>["linux"]>): void {
  const lines = (maps: readonly { containerID: number; hostID: number; size: number }[] = []) =>
    maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
  try {
    writeFileSync(`/proc/${pid}/uid_map`, lines(linux.uidMappings));
    writeFileSync(`/proc/${pid}/gid_map`, lines(linux.gidMappings));
  } catch (e) {
    throw new BuncError(`write uid/gid mappings: ${(e as Error).message}`, { code: "EINVAL", cause: e });
  }
}

/** Open /proc/…/ns/… style paths of namespaces to join; the executor setns(2)es on these fds. */
function openNamespaces(namespaces: readonly { type: string; path?: string }[], cleanup: (() => void)[]): Map<NamespaceType, number> {
  const joined = new Map<NamespaceType, number>();
  for (const ns of namespaces) {
    if (!ns.path) continue;
    let fd: number;
    try {
      fd = openSync(ns.path, constants.O_RDONLY);
    } catch (e) {
      throw new BuncError(`open ${ns.type} namespace ${JSON.stringify(ns.path)}: ${(e as Error).message}`, { code: "ENOENT", cause: e });
    }
    cleanup.push(() => closeSync(fd));
    joined.set(ns.type as NamespaceType, fd);
  }
  return joined;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * HOME of uid from the rootfs's /etc/passwd, "/" when there is none (as
 * runc). A passwd file that resolves outside the rootfs is not read.
 */
function homeOf(rootfs: string, uid: number): string {
  try {
    const file = realpathSync(path.join(rootfs, "etc/passwd"));
    if (!file.startsWith(realpathSync(rootfs) + "/")) return "/";
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const f = line.split(":");
      if (f.length >= 6 && Number(f[2]) === uid && f[2] !== "") return f[5] || "/";
    }
  } catch {
    // No passwd file: "/".
  }
  return "/";
}

/** The pid file: the pid without a newline, written to a temporary name and renamed (as runc). */
function writePidFile(file: string, pid: number): void {
  const target = path.resolve(file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}`);
  writeFileSync(tmp, String(pid));
  renameSync(tmp, target);
}

/** Now in RFC 3339 with sub-millisecond digits, like Go's time.RFC3339Nano in UTC. */
export function rfc3339Now(): string {
  const ms = performance.timeOrigin + performance.now();
  const iso = new Date(Math.floor(ms)).toISOString(); // 2026-11-29T12:00:00.123Z
  const micros = Math.floor((ms % 1) * 1000).toString().padStart(3, "0");
  return `${iso.slice(0, -1)}${micros}`.replace(/\.?0+$/, "") + "Z";
}
