/**
 * create (and the first half of run): validate the bundle, claim the id,
 * make the cgroup, launch the container's process through the C executor,
 * and record the facts once it waits on the exec FIFO. Any failure undoes
 * everything.
 */
import { chmodSync, closeSync, constants, existsSync, fstatSync, openSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync, writeSync } from "node:fs";
import { posix as path } from "node:path";
import { openJoin } from "../cgroups/join";
import { cgroupManager, type CgroupManager } from "../cgroups/manager";
import { rootlessCgroup } from "../cgroups/rootless";
import { BuncError } from "../errors";
import { debug } from "../debug";
import { Op, type Operation } from "../plan/program";
import { mkfifo } from "../linux/fs";
import { connectUnix, sendPidfd } from "../linux/socket";
import { compile, idmapMountOf, type CgroupBind, type ContainerHooks } from "../plan/compile";
import type { CompiledSeccomp } from "../plan/process";
import { planSeccomp } from "../plan/seccomp";
import { buildFilter } from "../linux/seccomp";
import { mayTakeChildFds } from "../linux/proc";
import type { LinuxSeccomp, Spec } from "../spec/config";
import { cstr, SYS, syscall } from "../linux/libc";
import { sendFd } from "../../ffi/executor";
import { checkHookPaths, has, runHooks, runHooksWarning, stateJson, type HookState } from "./hooks";
import type { NamespaceType } from "../plan/namespaces";
import { loadBundle, rootfsOf } from "./bundle";
import { launch } from "./launch";
import { homeOf } from "./passwd";
import { EXEC_FIFO, type ContainerRecord, type Store } from "./store";
import { Undo } from "./undo";
import { inUserNamespace, setgroupsDenied, validateRootlessEUID } from "./rootless";
import { refuseUnsupported } from "./unsupported";
import { planIdmappedMounts } from "../plan/idmap";
import { userNamespaceMounts } from "../plan/rootless";
import { writeProcFiles } from "./usermap";
import { idmapSources, idmapTree, ownFds } from "./idmap";
import { SPEC_VERSION } from "../version";
import { detachMount, hostProcAndSysfs, parentMountOf, topMountAt } from "../linux/mountinfo";
import { bindSourceTrees } from "./bind-sources";

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
  /** --systemd-cgroup: the container's cgroup is a systemd scope (src/cgroups/systemd/). */
  systemdCgroup?: boolean;
  /** --rootless resolved: cgroups the user cannot make or join are left out (src/cgroups/rootless.ts). */
  rootless?: boolean;
  /** The bundle's config, when the caller has read it already (run). */
  spec?: Spec;
}

export interface Created {
  record: ContainerRecord;
  /** A pidfd of the container's process (the caller closes it). */
  pidfd: number;
  /** What was dropped or ignored rather than refused, for the CLI to print. */
  warnings: string[];
}

/** The OCI version of the state this bunc writes. */
export const OCI_VERSION = SPEC_VERSION;

const O_PATH = 0o10000000;

/** Create a container; returns once its process waits for start (or, with startNow, is about to exec). */
export function createContainer(store: Store, opts: CreateOptions): Created {
  const bundle = path.resolve(opts.bundle);
  const spec = opts.spec ?? loadBundle(bundle);
  refuseUnsupported(spec);
  if ((process.geteuid?.() ?? 0) !== 0) validateRootlessEUID(spec);
  // runc's checkTerminal: a console socket only when a tty is allocated for a detached process.
  if (opts.consoleSocket && !spec.process?.terminal)
    throw new BuncError("cannot use console socket if bunc will not allocate tty (process.terminal is false)", { code: "EINVAL" });
  if (spec.process?.terminal && !opts.consoleSocket && opts.consoleFd === undefined)
    throw new BuncError("cannot allocate tty if bunc will detach without setting console socket (--console-socket)", { code: "EINVAL" });
  checkHookPaths(spec.hooks);
  const rootfs = rootfsOf(bundle, spec);

  const undo = new Undo();
  const warnings: string[] = [];
  let hooksRan = false;
  try {
    const seccomp = spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp, warnings) : undefined;
    const joined = openNamespaces(spec.linux?.namespaces ?? [], undo);
    const dir = store.claim(opts.id);
    undo.push(() => store.remove(opts.id));
    // No flock here: the mkdir of claim() is create's exclusivity, and the child
    // inherits every fd until execve, so a lock taken now would outlive create.
    const dirFd = openSync(dir, O_PATH | constants.O_DIRECTORY);
    undo.push(() => closeSync(dirFd));

    let cgroup = cgroupManager(opts.id, spec.linux?.cgroupsPath, { systemd: opts.systemdCgroup, annotations: spec.annotations });
    let cgroupBinds: CgroupBind[] | undefined;
    if (opts.rootless) ({ cgroup, binds: cgroupBinds } = rootlessCgroup(cgroup, spec.linux?.cgroupsPath, spec.linux?.resources));
    makeCgroup(cgroup, store, opts.id, undo, warnings);
    warnings.push(...cgroup.apply(spec.linux?.resources, { rootless: opts.rootless }));
    // The child enters its cgroups itself (src/cgroups/join.ts); these fds go with it until execve.
    const join = openJoin(cgroup);
    undo.push(() => join.close());

    if (!opts.startNow) {
      // 0622 whatever the umask: a container root mapped to another host uid must open it.
      mkfifo(path.join(dir, EXEC_FIFO), 0o622);
      chmodSync(path.join(dir, EXEC_FIFO), 0o622);
    }
    const consoleFd = consoleFor(spec.process?.terminal === true, opts, undo);
    const pidfdSocket = opts.pidfdSocket === undefined ? undefined : connectUnix(path.resolve(opts.pidfdSocket), "pidfd socket");
    if (pidfdSocket !== undefined) undo.push(() => closeSync(pidfdSocket));
    const hooks = containerHooks(spec, undo);
    const namespaces = spec.linux?.namespaces ?? [];
    const euid = process.geteuid?.() ?? 0;
    // As runc (RootlessEUID): the effective uid decides, not --rootless, which is about cgroups.
    const privileged = euid === 0;
    const idmaps = planIdmappedMounts(spec, {
      bundle,
      newUserns: namespaces.some((ns) => ns.type === "user" && !ns.path),
      joinedUserns: joined.has("user"),
      rootless: !privileged,
    });
    const idmapped = idmapSources(idmaps, joined.get("user"), undo);
    const bindTrees = bindSourceTrees(spec, bundle, namespaces.some((ns) => ns.type === "user"), new Set(idmapped.keys()), undo);
    const state = (status: HookState["status"], pid: number): HookState =>
      ({ ociVersion: OCI_VERSION, id: opts.id, status, pid, bundle, annotations: spec.annotations });
    const inUserns = inUserNamespace();
    const plan = compile({
      // Rootless only: a root bunc keeps runc's refusal of such a sysfs mount.
      spec: !privileged || inUserns ? userNamespaceMounts(spec, warnings) : spec,
      inUserns,
      // A new user namespace gets its maps from bunc (setgroups "deny" only for a non-root writer, which skips setgroups anyway).
      setgroupsDenied: !namespaces.some((ns) => ns.type === "user") && setgroupsDenied(),
      rootfs,
      bundle,
      joined,
      fifo: opts.startNow ? undefined : { dirFd, name: EXEC_FIFO },
      preserveFds: opts.preserveFds ?? 0,
      noPivot: opts.noPivot ?? false,
      noNewKeyring: opts.noNewKeyring ?? false,
      consoleFd,
      consoleRelayed: opts.consoleFd !== undefined,
      id: opts.id,
      cgroupBinds: cgroupBinds ?? cgroup.binds(),
      isDirectory,
      home: homeOf(rootfs, spec.process?.user?.uid ?? 0),
      rootfsParentMount: spec.linux?.rootfsPropagation ? parentMountOf(realpathSync(rootfs)) : undefined,
      hostProcAndSysfs: opts.noPivot ? hostProcAndSysfs(realpathSync(rootfs)) : undefined,
      seccomp,
      lastCap: lastCap(),
      hooks,
      cgroupTaskFds: join.taskFds,
      idmapped: new Set(idmapped.keys()),
      bindTrees,
      joinsHostNetwork: joined.has("network") && isOwnNamespace(joined.get("network")!, "net"),
      mapWriter: { euid, egid: process.getegid?.() ?? 0, privileged },
    });
    warnings.push(...plan.warnings);
    debug.log?.(`namespaces: ${namespaces.map((ns) => (ns.path ? `${ns.type} joined (${ns.path})` : `${ns.type} new`)).join(", ") || "none (all the host's)"}`);
    debug.log?.(`mounts planned: ${mountsOf(plan.ops)}`);
    const hostRootfs = hostRootfsMount(namespaces, rootfs, undo);
    const child = launch(plan.ops, plan.cloneFlags, (firstPid, inCgroup) => {
      writeProcFiles(firstPid, plan.procWrites);
      // A kernel without CLONE_INTO_CGROUP (before 5.7): the parent's write after all.
      if (join.cloneIntoFd >= 0 && !inCgroup) cgroup.addProcess(firstPid);
      // The systemd driver: systemd makes the scope with the child in it (runc's Apply(pid)).
      if (cgroup.started) warnings.push(...cgroup.started(firstPid));
    }, undo, {
      cgroupFd: join.cloneIntoFd >= 0 ? join.cloneIntoFd : undefined,
      onHooks: (pid) => {
        writeSync(hooks!.createStateFd, stateJson(state("creating", pid)), 0);
        writeSync(hooks!.startStateFd, stateJson(state("created", pid)), 0);
        hooksRan = true;
        // prestart is deprecated but still run, before createRuntime (config.md).
        runHooks("prestart", spec.hooks?.prestart, state("creating", pid));
        runHooks("createRuntime", spec.hooks?.createRuntime, state("creating", pid));
      },
      onIdmap: (tree, opIndex) => {
        const source = idmapped.get(idmapMountOf(plan.ops[opIndex]) ?? -1);
        if (!source) throw new BuncError(`unexpected idmapped mount from step ${opIndex}`, { code: "EPROTO" });
        idmapTree(tree, source);
      },
      onSeccomp: (fd, pid) => {
        try {
          sendToListener(spec.linux!.seccomp!, fd, state("creating", pid));
        } finally {
          closeSync(fd);
        }
      },
    });
    const record = newRecord(spec, { id: opts.id, pid: child.pid, pidStartTime: child.startTime, bundle, rootfs, cgroupPaths: cgroup.paths });
    if (cgroup.unit) record.systemdUnit = cgroup.unit;
    record.hostRootfsMount = hostRootfs?.made();
    store.save(record);
    if (pidfdSocket !== undefined) sendPidfd(pidfdSocket, child.pidfd, "standard");
    if (opts.pidFile) writePidFile(opts.pidFile, child.pid);
    closeSync(dirFd);
    join.close();
    if (hooks) for (const fd of [hooks.createStateFd, hooks.startStateFd]) closeSync(fd);
    for (const fd of joined.values()) closeSync(fd);
    for (const fd of ownFds(idmapped, joined.get("user"))) closeSync(fd);
    for (const fd of bindTrees.values()) closeSync(fd);
    if (consoleFd !== undefined && consoleFd !== opts.consoleFd) closeSync(consoleFd);
    if (pidfdSocket !== undefined) closeSync(pidfdSocket);
    // Last: from here on the container's process outlives us (before, our death ends it).
    child.release?.();
    return { record, pidfd: child.pidfd, warnings };
  } catch (e) {
    undo.run();
    // A failed prestart/createRuntime/createContainer hook stops the container and the
    // lifecycle goes on with the poststop hooks (runtime.md, step 12); their failures are only warnings.
    if (hooksRan) runHooksWarning("poststop", spec.hooks?.poststop, { ociVersion: OCI_VERSION, id: opts.id, status: "stopped", bundle, annotations: spec.annotations });
    throw e;
  }
}

/**
 * Make the container's cgroup, after runc's checks of one that exists
 * already (libcontainer factory_linux.go Create): processes in it are a
 * warning, a frozen one an error — its process would never run. Where it
 * will be is recorded in the state dir first (a create killed from here on
 * is cleaned up by delete), naming only the directories that are new: a
 * directory that was there before is never removed for this container's
 * failure.
 */
export function makeCgroup(cgroup: CgroupManager, store: Store, id: string, undo: Undo, warnings: string[]): void {
  const existing = cgroup.existing();
  if (existing.frozen) throw new BuncError("container's cgroup unexpectedly frozen", { code: "CGROUP" });
  if (existing.pids.length > 0) warnings.push(`container's cgroup is not empty: ${existing.pids.length} process(es) found`);
  const made: string[] = [];
  const paths: Record<string, string> = {};
  for (const [mountpoint, dir] of Object.entries(cgroup.paths)) {
    const levels: string[] = [];
    for (let d = dir; d !== "/" && !existsSync(d); d = path.dirname(d)) levels.unshift(d);
    if (levels.length > 0) paths[mountpoint] = dir; // new: the leaf is among what will be made
    made.push(...levels);
  }
  store.saveCgroupPaths(id, { paths, made });
  cgroup.create();
  undo.push(() => cgroup.removeMade());
  debug.log?.(`cgroup made: ${Object.values(cgroup.paths).join(", ") || "none"}`);
}

/**
 * linux.seccomp → BPF, with libseccomp loaded only now. A bunc that may
 * ptrace its child takes a listener fd from it with pidfd_getfd (see
 * planSeccomp's NOTIFY_FORBIDDEN); the check runs only for a filter that
 * has a listener.
 */
export function compileSeccomp(s: LinuxSeccomp, warnings: string[]): CompiledSeccomp {
  const notifies = s.syscalls?.some((c) => c.action === "SCMP_ACT_NOTIFY") ?? false;
  const fetchListener = notifies && mayTakeChildFds();
  const plan = planSeccomp(s, { fetchListener });
  const filter = buildFilter(plan);
  warnings.push(...filter.warnings);
  return { bpf: filter.bpf, flags: plan.flags, listener: plan.listener, fetchListener };
}

/** What the setup program mounts, for --debug. */
function mountsOf(ops: readonly Operation[]): string {
  const mounts = ops.filter((op) => op.code === Op.MOUNT || op.code === Op.BIND).map((op) => op.what);
  return `${mounts.length}${mounts.length ? `: ${mounts.join("; ")}` : ""}`;
}

/** This kernel's last capability, or undefined when /proc does not say. */
export function lastCap(): number | undefined {
  try {
    const n = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The hooks of create, with a memfd for each state the in-container hooks read; undefined with none. */
function containerHooks(spec: Spec, undo: Undo): ContainerHooks | undefined {
  const h = spec.hooks;
  if (!has(h, "prestart") && !has(h, "createRuntime") && !has(h, "createContainer") && !has(h, "startContainer")) return undefined;
  const memfd = (name: string) => {
    const fd = syscall("memfd_create", SYS.memfd_create, cstr(name), 1 /* MFD_CLOEXEC */);
    undo.push(() => closeSync(fd));
    return fd;
  };
  return {
    parentSync: has(h, "prestart") || has(h, "createRuntime"),
    createContainer: h?.createContainer ?? [],
    startContainer: h?.startContainer ?? [],
    createStateFd: memfd("bunc-state-creating"),
    startStateFd: memfd("bunc-state-created"),
  };
}

/**
 * SCMP_ACT_NOTIFY: hand the listener fd to the agent at listenerPath with the
 * container's process state, as runc does (config-linux.md "seccomp", ContainerProcessState).
 */
export function sendToListener(s: LinuxSeccomp, fd: number, state: HookState): void {
  let sock: number;
  try {
    sock = connectUnix(s.listenerPath!, "seccomp listener");
  } catch (e) {
    // runc's words first: containerd and runc's tests look for them.
    throw new BuncError(`failed to connect with seccomp agent specified in the seccomp profile: ${(e as Error).message}`, { code: (e as BuncError).code ?? "EIO", cause: e });
  }
  try {
    const msg = {
      ociVersion: OCI_VERSION,
      fds: ["seccompFd"],
      pid: state.pid,
      metadata: s.listenerMetadata ?? "",
      state: { ociVersion: state.ociVersion, id: state.id, status: state.status, pid: state.pid, bundle: state.bundle, annotations: state.annotations ?? {} },
    };
    const r = sendFd(sock, fd, new TextEncoder().encode(JSON.stringify(msg)));
    if (r < 0) throw new BuncError(`send the seccomp fd to ${s.listenerPath}: errno ${-r}`, { code: "EIO", errno: -r });
  } finally {
    closeSync(sock);
  }
}

/** The fd the pty master goes to: the caller's, or a connection to --console-socket. */
export function consoleFor(terminal: boolean, opts: { consoleFd?: number; consoleSocket?: string }, undo: Undo): number | undefined {
  if (!terminal || opts.consoleFd !== undefined || !opts.consoleSocket) return opts.consoleFd;
  const fd = connectUnix(path.resolve(opts.consoleSocket));
  undo.push(() => closeSync(fd));
  return fd;
}

/**
 * Without a mount namespace the container's mounts are made in bunc's own,
 * all under the rootfs's bind onto itself (src/plan/compile.ts): that mount
 * is detached by delete, or at once when create fails. made() names it once
 * the child is set up; a mount that was at the rootfs before is never taken.
 */
function hostRootfsMount(namespaces: readonly { type: string }[], rootfs: string, undo: Undo): { made(): { path: string; id: number } | undefined } | undefined {
  if (namespaces.some((ns) => ns.type === "mount")) return undefined;
  const real = realpathSync(rootfs);
  const before = topMountAt(real);
  const made = () => {
    const top = topMountAt(real);
    return top === undefined || top === before ? undefined : { path: real, id: top };
  };
  undo.push(() => {
    const m = made();
    if (m) detachMount(m.path, m.id);
  });
  return { made };
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

/** Whether a namespace fd the config joins is bunc's own (runc's isHostNetNS compares device and inode too). */
function isOwnNamespace(fd: number, kind: string): boolean {
  const joined = fstatSync(fd, { bigint: true });
  const own = statSync(`/proc/self/ns/${kind}`, { bigint: true });
  return joined.dev === own.dev && joined.ino === own.ino;
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

/** What state.json records of a container whose process now exists (create and restore). */
export function newRecord(spec: Spec, facts: Pick<ContainerRecord, "id" | "pid" | "pidStartTime" | "bundle" | "rootfs" | "cgroupPaths">): ContainerRecord {
  return {
    ociVersion: OCI_VERSION,
    ...facts,
    created: rfc3339Now(),
    owner: "",
    annotations: spec.annotations,
    process: spec.process,
    namespaces: (spec.linux?.namespaces ?? []).map((ns) => ns.type),
    ownPidNamespace: (spec.linux?.namespaces ?? []).some((ns) => ns.type === "pid" && !ns.path),
    hooks: spec.hooks?.poststart?.length || spec.hooks?.poststop?.length ? { poststart: spec.hooks.poststart, poststop: spec.hooks.poststop } : undefined,
    resources: spec.linux?.resources,
    seccomp: spec.linux?.seccomp,
    memoryPolicy: spec.linux?.memoryPolicy,
  };
}
