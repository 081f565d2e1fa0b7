/**
 * create (and the first half of run): validate the bundle, claim the id,
 * make the cgroup, launch the container's process through the C executor,
 * and record the facts once it waits on the exec FIFO. Any failure undoes
 * everything.
 */
import { chmodSync, closeSync, constants, openSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { cgroupManager } from "../cgroups/manager";
import { BuncError } from "../errors";
import { mkfifo } from "../linux/fs";
import { connectUnix, sendPidfd } from "../linux/socket";
import { compile } from "../plan/compile";
import type { NamespaceType } from "../plan/namespaces";
import { loadBundle } from "./bundle";
import { launch } from "./launch";
import { homeOf } from "./passwd";
import { EXEC_FIFO, type ContainerRecord, type Store } from "./store";
import { Undo } from "./undo";
import { refuseUnsupported } from "./unsupported";

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
  /** --pidfd-socket: a unix socket that receives a pidfd of the container's process. */
  pidfdSocket?: string;
  /** --systemd-cgroup: refused until a systemd driver exists. */
  systemdCgroup?: boolean;
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
  // runc's checkTerminal: a console socket only when a tty is allocated for a detached process.
  if (opts.consoleSocket && !spec.process?.terminal)
    throw new BuncError("cannot use console socket if bunc will not allocate tty (process.terminal is false)", { code: "EINVAL" });
  const rootfs = path.resolve(bundle, spec.root?.path ?? "rootfs");
  if (!isDirectory(rootfs)) throw new BuncError(`rootfs (${JSON.stringify(rootfs)}) does not exist or is not a directory`, { code: "ENOENT" });

  const undo = new Undo();
  try {
    const joined = openNamespaces(spec.linux?.namespaces ?? [], undo);
    const dir = store.claim(opts.id);
    undo.push(() => store.remove(opts.id));
    // No flock here: the mkdir of claim() is create's exclusivity, and the child
    // inherits every fd until execve, so a lock taken now would outlive create.
    const dirFd = openSync(dir, O_PATH | constants.O_DIRECTORY);
    undo.push(() => closeSync(dirFd));

    const cgroup = cgroupManager(opts.id, spec.linux?.cgroupsPath, { systemd: opts.systemdCgroup });
    cgroup.create();
    undo.push(() => cgroup.destroy());
    cgroup.apply(spec.linux?.resources);

    if (!opts.startNow) {
      // 0622 whatever the umask: a container root mapped to another host uid must open it.
      mkfifo(path.join(dir, EXEC_FIFO), 0o622);
      chmodSync(path.join(dir, EXEC_FIFO), 0o622);
    }
    const consoleFd = consoleFor(spec.process?.terminal === true, opts, undo);
    const pidfdSocket = opts.pidfdSocket === undefined ? undefined : connectUnix(path.resolve(opts.pidfdSocket), "pidfd socket");
    if (pidfdSocket !== undefined) undo.push(() => closeSync(pidfdSocket));
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
      home: homeOf(rootfs, spec.process?.user?.uid ?? 0),
      rootfsParentMount: spec.linux?.rootfsPropagation ? parentMountOf(rootfs) : undefined,
    });
    const child = launch(plan.ops, plan.cloneFlags, (firstPid) => {
      writeProcFiles(firstPid, plan.procWrites);
      cgroup.addProcess(firstPid);
    }, undo);
    const record: ContainerRecord = {
      ociVersion: OCI_VERSION,
      id: opts.id,
      pid: child.pid,
      pidStartTime: child.startTime,
      bundle,
      rootfs,
      created: rfc3339Now(),
      owner: "",
      annotations: spec.annotations,
      cgroupPaths: cgroup.paths,
      process: spec.process,
      namespaces: (spec.linux?.namespaces ?? []).map((ns) => ns.type),
    };
    store.save(record);
    if (pidfdSocket !== undefined) sendPidfd(pidfdSocket, child.pidfd, "standard");
    if (opts.pidFile) writePidFile(opts.pidFile, child.pid);
    closeSync(dirFd);
    for (const fd of joined.values()) closeSync(fd);
    if (consoleFd !== undefined && consoleFd !== opts.consoleFd) closeSync(consoleFd);
    if (pidfdSocket !== undefined) closeSync(pidfdSocket);
    return { record, pidfd: child.pidfd };
  } catch (e) {
    undo.run();
    throw e;
  }
}

/** The fd the pty master goes to: the caller's, or a connection to --console-socket. */
export function consoleFor(terminal: boolean, opts: { consoleFd?: number; consoleSocket?: string }, undo: Undo): number | undefined {
  if (!terminal || opts.consoleFd !== undefined || !opts.consoleSocket) return opts.consoleFd;
  const fd = connectUnix(path.resolve(opts.consoleSocket));
  undo.push(() => closeSync(fd));
  return fd;
}

/** The parent's part of the child's SETUP: /proc/PID files (id maps first), as the plan lists them. */
function writeProcFiles(pid: number, writes: readonly { file: string; content: string }[]): void {
  for (const { file, content } of writes) {
    try {
      writeFileSync(`/proc/${pid}/${file}`, content);
    } catch (e) {
      throw new BuncError(`write /proc/${pid}/${file}: ${(e as Error).message}`, { code: "EINVAL", cause: e });
    }
  }
}

/** The mount point that holds rootfs, and whether it is shared (optional field "shared:N" in proc_pid_mountinfo(5)). */
function parentMountOf(rootfs: string): { mountpoint: string; shared: boolean } | undefined {
  const real = realpathSync(rootfs);
  let best: { mountpoint: string; shared: boolean } | undefined;
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(" ");
    const mountpoint = fields[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const inside = mountpoint === "/" || real === mountpoint || real.startsWith(mountpoint + "/");
    if (inside && (!best || mountpoint.length >= best.mountpoint.length))
      best = { mountpoint, shared: fields.slice(6).some((f) => f.startsWith("shared:")) };
  }
  return best;
}

/** Open /proc/…/ns/… style paths of namespaces to join; the executor setns(2)es on these fds. */
function openNamespaces(namespaces: readonly { type: string; path?: string }[], undo: Undo): Map<NamespaceType, number> {
  const joined = new Map<NamespaceType, number>();
  for (const ns of namespaces) {
    if (!ns.path) continue;
    let fd: number;
    try {
      fd = openSync(ns.path, constants.O_RDONLY);
    } catch (e) {
      throw new BuncError(`open ${ns.type} namespace ${JSON.stringify(ns.path)}: ${(e as Error).message}`, { code: "ENOENT", cause: e });
    }
    undo.push(() => closeSync(fd));
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

/** The pid file: the pid without a newline, written to a temporary name and renamed (as runc). */
export function writePidFile(file: string, pid: number): void {
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
