/**
 * config.json → setup program. Pure: everything it needs from the host is
 * passed in, so it is unit-tested without root. The order of operations
 * follows runc's init (libcontainer/rootfs_linux.go, standard_init_linux.go):
 * namespaces, the parent's setup (id maps, cgroup), mounts, devices, masks,
 * pivot_root, hostname, rlimits, user and capabilities, cwd, exec.
 */
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import type { Spec } from "../spec/config";
import { defaultDevices, DEV_SYMLINKS, deviceNumber, deviceMode } from "./devices";
import { checkIdMappings } from "./idmap";
import { idMapSteps, type MapStep, type MapWriter } from "./usermap";
import { bindAttributes, MOUNT_ATTR, MS, parseMountOptions } from "./mount-options";
import { CLONE, JOIN_ORDER, NAMESPACE_FLAG, type NamespaceType } from "./namespaces";
import { Create, Msg, Op, type Operation } from "./program";
import type { Add } from "./process";
import { compileProcess, type CompiledSeccomp } from "./process";
import { personaValue } from "./sched";
import { planSysctl } from "./sysctl";
import { CLONE_VM, limitsMemory, shareMemory } from "./share-memory";
import { compileKeyLabel, withMountLabel } from "./lsm";
import { memoryPolicyStep } from "./mempolicy";
import type { Hook } from "../spec/config";
import { SIGNAL_TEXT } from "../linux/signals";

export interface CgroupBind {
  /** The container's cgroup directory in one host hierarchy: /sys/fs/cgroup/memory/ID. */
  source: string;
  /** Its name under the container's cgroup mount: "memory"; "" (the only bind) for cgroup v2, whose one directory is the whole mount. */
  name: string;
}

export interface CompileInput {
  spec: Spec;
  /** bunc itself runs in a user namespace other than the initial one (rootless podman's): devices are bound, as runc. */
  inUserns?: boolean;
  /** setgroups(2) is denied in the user namespace the process ends in (see ProcessContext). */
  setgroupsDenied?: boolean;
  /** Absolute path of the rootfs on the host. */
  rootfs: string;
  /** Absolute path of the bundle: relative bind sources are relative to it. */
  bundle: string;
  /** fds the parent opened for namespaces given by path. */
  joined: ReadonlyMap<NamespaceType, number>;
  /** For create: the state dir's fd and the exec FIFO's name; absent for run. */
  fifo?: { dirFd: number; name: string };
  preserveFds: number;
  noPivot: boolean;
  /** What a "cgroup" mount shows: the container's cgroups, one per v1 hierarchy. */
  cgroupBinds: readonly CgroupBind[];
  /** Whether a host path is a directory (decides what a bind target is created as). */
  isDirectory(hostPath: string): boolean;
  /** HOME from the container's /etc/passwd, used when process.env has none. */
  home: string;
  id: string;
  /** --no-new-keyring: keep the caller's session keyring. */
  noNewKeyring: boolean;
  /** With process.terminal: the socket that receives the pty master. */
  consoleFd?: number;
  /** bunc itself relays the terminal (run in the foreground): ONLCR is cleared, as runc's tty does. */
  consoleRelayed?: boolean;
  /** Open v1 "tasks" files the child writes "0" to, first of all (src/cgroups/join.ts). */
  cgroupTaskFds?: readonly number[];
  /** Detached clones of bind sources (by index in mounts) the parent made, for a source the container's root cannot reach. */
  bindTrees?: ReadonlyMap<number, number>;
  /** With noPivot: the host's whole procfs and sysfs mounts, outside the rootfs, to detach or cover. */
  hostProcAndSysfs?: readonly string[];
  /** The mount holding the rootfs (read from mountinfo when rootfsPropagation is set). */
  rootfsParentMount?: { mountpoint: string; shared: boolean };
  /** The finished seccomp filter, when the config has linux.seccomp. */
  seccomp?: CompiledSeccomp;
  /** /proc/sys/kernel/cap_last_cap. */
  lastCap?: number;
  /** Hooks: whether the parent runs some at the HOOKS sync, and those the executor runs. */
  hooks?: ContainerHooks;
  /** Who writes a new user namespace's id maps (default: root). */
  mapWriter?: MapWriter;
  /** Indexes (in mounts) of the idmapped bind mounts (src/plan/idmap.ts), which the parent idmaps. */
  idmapped?: ReadonlySet<number>;
  /** The network namespace joined by path is bunc's own (net.* sysctls would change the host). */
  joinsHostNetwork?: boolean;
}

export interface ContainerHooks {
  /** prestart/createRuntime hooks exist: the child waits while the parent runs them before pivot_root. */
  parentSync: boolean;
  createContainer: readonly Hook[];
  startContainer: readonly Hook[];
  /** fds of memfds the parent fills with the state JSON at the HOOKS sync ("creating" / "created"). */
  createStateFd: number;
  startStateFd: number;
}

export interface SetupPlan {
  ops: Operation[];
  /** Namespaces created by clone3 itself. */
  cloneFlags: bigint;
  /**
   * Files of /proc/PID/ the parent writes, in order, while the child waits in
   * its SETUP: id maps, time offsets, oom_score_adj. The child cannot write
   * them itself once it is non-dumpable inside a user namespace.
   */
  procWrites: MapStep[];
  /** Things dropped rather than refused (a capability this kernel lacks). */
  warnings: string[];
}

/** What the parent writes to /proc/PID/ during SETUP. */
function procWrites(spec: Spec, fresh: ReadonlySet<NamespaceType>, writer: MapWriter): MapStep[] {
  const out: MapStep[] = [];
  if (fresh.has("user")) {
    checkIdMappings(spec.linux?.uidMappings, "config.json: linux.uidMappings");
    checkIdMappings(spec.linux?.gidMappings, "config.json: linux.gidMappings");
    out.push(...idMapSteps(spec.linux!.uidMappings!, spec.linux!.gidMappings!, writer));
  }
  if (fresh.has("time")) {
    const offsets = Object.entries(spec.linux?.timeOffsets ?? {})
      .map(([clock, o]) => `${clock} ${(o as { secs?: number })?.secs ?? 0} ${(o as { nanosecs?: number })?.nanosecs ?? 0}\n`)
      .join("");
    if (offsets) out.push({ file: "timens_offsets", content: offsets });
  }
  if (spec.process?.oomScoreAdj !== undefined) out.push({ file: "oom_score_adj", content: String(spec.process.oomScoreAdj) });
  return out;
}

const SIGKILL = 9;
const ROOT: MapWriter = { euid: 0, egid: 0, privileged: true };
/** Namespaces clone3 may create directly; cgroup waits for the cgroup placement, time for its offsets. */
const CLONE_AT_ONCE: NamespaceType[] = ["user", "mount", "uts", "ipc", "network", "pid"];

/** Compile a validated config into the program the executor runs. */
export function compile(input: CompileInput): SetupPlan {
  const { spec } = input;
  const proc = spec.process;
  if (!proc) throw new BuncError("config.json: process: required to start a container", { code: "CONFIG" });
  const ops: Operation[] = [];
  const add = (code: Operation["code"], what: string, fields: Omit<Operation, "code" | "what"> = {}) =>
    ops.push({ code, what, ...fields });

  // Namespaces.
  const namespaces = spec.linux?.namespaces ?? [];
  const fresh = new Set<NamespaceType>(namespaces.filter((ns) => !ns.path).map((ns) => ns.type as NamespaceType));
  // Without a mount namespace the container inherits bunc's (config-linux.md
  // "namespaces"); as runc, masks and read-only paths then need one of its own.
  const hostMounts = !fresh.has("mount") && !input.joined.has("mount");
  if (hostMounts && ((spec.linux?.maskedPaths?.length ?? 0) > 0 || (spec.linux?.readonlyPaths?.length ?? 0) > 0))
    throw new BuncError("unable to restrict sys entries without a private MNT namespace: config.json has linux.maskedPaths or linux.readonlyPaths but no mount namespace", { code: "CONFIG" });
  // Into the container's cgroups before anything else, and before a user namespace
  // makes the cgroupfs files foreign.
  for (const fd of input.cgroupTaskFds ?? []) add(Op.WRITE_FD, "join the container's cgroup", { fd, s: [undefined, "0"] });
  let cloneFlags = 0;
  const userNs = fresh.has("user") || input.joined.has("user");
  // Host root is unmapped inside a user namespace: the child becomes its root right
  // after the parent wrote the maps (runc's nsexec stage 2), before it creates the
  // namespaces that the user namespace will own (their files then belong to root).
  const becomeRoot = () => {
    if (!userNs) return;
    add(Op.SETRESGID, "become gid 0 in the user namespace", { n: [0] });
    add(Op.SETRESUID, "become uid 0 in the user namespace", { n: [0] });
  };
  // An unprivileged parent cannot open /proc/PID/uid_map of a non-dumpable child (its
  // /proc files then belong to root): the child is dumpable only while it waits for its
  // maps, as runc's nsexec does, before anything of the container exists.
  const writer = input.mapWriter ?? ROOT;
  const parentSetup = () => {
    const redump = fresh.has("user") && !writer.privileged;
    if (redump) add(Op.DUMPABLE, "become dumpable for the id maps", { n: [1] });
    add(Op.SYNC, "wait for the parent's setup", { n: [Msg.SETUP] });
    if (redump) add(Op.DUMPABLE, "become non-dumpable again", { n: [0] });
  };
  const unshareRest = (skip: NamespaceType[]) => {
    let rest = 0;
    for (const t of fresh) if (!skip.includes(t)) rest |= NAMESPACE_FLAG[t];
    if (rest) add(Op.UNSHARE, "unshare namespaces", { n: [rest] });
  };
  // A new time namespace needs a fork after it (time_namespaces(7)), and the forking
  // process must not be a PID namespace's init: then everything is unshared in the child.
  if (input.joined.size === 0 && !fresh.has("time")) {
    // clone3 creates what it can; with a new user namespace only it and the PID namespace.
    const atOnce = fresh.has("user") ? (["user", "pid"] as NamespaceType[]) : CLONE_AT_ONCE;
    for (const t of atOnce) if (fresh.has(t)) cloneFlags |= NAMESPACE_FLAG[t];
    parentSetup();
    becomeRoot();
    // The cgroup namespace comes after the parent placed the child in its cgroup.
    unshareRest(atOnce);
  } else {
    for (const t of JOIN_ORDER) {
      const fd = input.joined.get(t);
      if (fd !== undefined) add(Op.SETNS, `join the ${t} namespace`, { fd, n: [NAMESPACE_FLAG[t]] });
    }
    // User first (it owns what follows), time before the SYNC: the parent writes its offsets.
    if (fresh.has("user")) add(Op.UNSHARE, "unshare the user namespace", { n: [CLONE.NEWUSER] });
    if (fresh.has("time")) add(Op.UNSHARE, "unshare the time namespace", { n: [CLONE.NEWTIME] });
    parentSetup();
    becomeRoot();
    unshareRest(["user", "time"]);
  }
  // A new or joined PID or time namespace applies only to children (pid_namespaces(7), time_namespaces(7)).
  const needsFork = cloneFlags === 0 && (fresh.has("pid") || input.joined.has("pid") || fresh.has("time") || input.joined.has("time"));
  if (needsFork) add(Op.FORK, "fork into the new namespaces");
  add(Op.PDEATHSIG, "set the parent-death signal", { n: [SIGKILL] });
  // A session keyring of its own, so the container cannot read the host's keys (keyrings(7)).
  // Its SELinux label first (runc's SetKeyLabel); /proc is still bunc's here, outside the container's reach.
  if (!input.noNewKeyring) compileKeyLabel(spec.process, add);
  if (!input.noNewKeyring) add(Op.KEYRING, "join a new session keyring", { s: [`_ses.${input.id}`] });
  // A new network namespace starts with "lo" down; runc brings it up (its loopback strategy).
  if (fresh.has("network")) add(Op.LOOPBACK_UP, "bring up the loopback interface");

  const warnings: string[] = [];
  compileRootfs(input, add, hostMounts);
  compileIdentityAndProcess(input, add, warnings);
  const shared = shareMemory({
    execsAtOnce: input.fifo === undefined,
    namespaces: [...fresh, ...input.joined.keys()],
    oomScoreAdj: proc.oomScoreAdj,
    memoryLimited: limitsMemory(spec.linux?.resources),
    privileged: writer.privileged,
  });
  return { ops, cloneFlags: BigInt(cloneFlags) | (shared ? CLONE_VM : 0n), procWrites: procWrites(spec, fresh, writer), warnings };
}


/**
 * The rootfs and its mounts. hostMounts: there is no mount namespace, so
 * this all happens in bunc's own: "/" keeps its propagation (runc would make
 * the host's "/" rslave), the process is only chrooted, and the rootfs's bind
 * onto itself carries every mount, for delete to detach at once.
 */
function compileRootfs(input: CompileInput, add: Add, hostMounts: boolean): void {
  const { spec } = input;
  const linux = spec.linux ?? {};
  if (!hostMounts) {
    // Mounts made in the container must not propagate back to the host.
    const rootPropagation = linux.rootfsPropagation ? parseMountOptions([linux.rootfsPropagation]).propagation : MS.SLAVE | MS.REC;
    add(Op.PROPAGATE, `set propagation of "/"`, { s: ["/"], n: [rootPropagation] });
    // pivot_root(2) refuses a shared parent, and a shared parent would carry the
    // container's mounts back to the host: make it private (runc's rootfsParentMountPrivate).
    if (input.rootfsParentMount && sharedAfter(input.rootfsParentMount, rootPropagation))
      add(Op.PROPAGATE, `make ${JSON.stringify(input.rootfsParentMount.mountpoint)} private`, { s: [input.rootfsParentMount.mountpoint], n: [MS.PRIVATE] });
  }
  add(Op.SET_ROOT, `bind the rootfs ${JSON.stringify(input.rootfs)} onto itself`, { s: [input.rootfs] });

  const mounts = spec.mounts ?? [];
  const readonlyLater: string[] = [];
  mounts.forEach((m, i) => compileMount(input, m, i, add, readonlyLater));

  const devBound = mounts.some((m) => cleanPath(m.destination) === "/dev" && (m.type === "bind" || parseMountOptions(m.options).bind));
  if (!devBound) {
    const newUser = (linux.namespaces ?? []).some((ns) => ns.type === "user") || input.inUserns === true;
    for (const d of [...defaultDevices(), ...(linux.devices ?? [])]) {
      if (newUser) {
        // mknod(2) is refused in a user namespace: bind the host's node instead, as runc does.
        add(Op.BIND, `bind device ${d.path}`, { s: [d.path, d.path], n: [0, 0, 0, 0, Create.FILE] });
      } else {
        add(Op.MKNOD, `create device ${d.path}`, { s: [undefined, d.path], n: [deviceMode(d), deviceNumber(d.major ?? 0, d.minor ?? 0), d.uid ?? 0, d.gid ?? 0] });
      }
    }
    for (const [link, target] of DEV_SYMLINKS) add(Op.SYMLINK, `create symlink ${link}`, { s: [target, link] });
  }

  // Before masks and read-only paths make /proc/sys read-only, as runc's order.
  const nsTypes = new Set((linux.namespaces ?? []).map((ns) => ns.type));
  for (const [key, value] of planSysctl(linux.sysctl ?? {}, nsTypes, input.joinsHostNetwork))
    add(Op.SYSCTL, `write sysctl ${key.replaceAll("/", ".")}=${JSON.stringify(value)}`, { s: [`sys/${key}`, value] });
  // A masked directory gets an empty read-only tmpfs, labelled like the other mounts (runc's maskPath).
  const maskData = withMountLabel("size=0", "tmpfs", linux.mountLabel);
  for (const p of linux.maskedPaths ?? []) add(Op.MASK, `mask ${p}`, { s: [undefined, p, maskData] });
  for (const p of linux.readonlyPaths ?? []) add(Op.READONLY, `make ${p} read-only`, { s: [undefined, p] });
  // As runc, a missing cwd is created (mode 0755) before the rootfs may become read-only.
  if (spec.process?.cwd) add(Op.MKDIR, `create cwd ${JSON.stringify(spec.process.cwd)}`, { s: [undefined, spec.process.cwd] });
  if (spec.root?.readonly) add(Op.ROOT_RDONLY, "make the rootfs read-only");
  // createRuntime (the parent), then createContainer (here, in the container's namespaces), before pivot_root.
  if (input.hooks) {
    add(Op.SYNC, "wait for the prestart and createRuntime hooks", { n: [Msg.HOOKS] });
    for (const h of input.hooks.createContainer) add(Op.HOOK, `run createContainer hook ${JSON.stringify(h.path)}`, hookFields(h, input.hooks.createStateFd));
  }
  if (hostMounts) {
    // Neither pivot_root nor a move of the rootfs onto "/" may touch the host's mount tree.
    add(Op.PIVOT_ROOT, "chroot into the rootfs", { n: [ROOT_SWITCH.CHROOT] });
  } else {
    if (input.noPivot)
      for (const p of input.hostProcAndSysfs ?? []) add(Op.HIDE_MOUNT, `hide the host's ${JSON.stringify(p)} from the container`, { s: [p] });
    add(Op.PIVOT_ROOT, input.noPivot ? "move the rootfs to / and chroot" : "pivot_root into the rootfs", { n: [input.noPivot ? ROOT_SWITCH.MOVE : ROOT_SWITCH.PIVOT] });
  }
  if (spec.process?.terminal) {
    if (input.consoleFd === undefined) throw new BuncError("process.terminal needs a console socket (--console-socket) when bunc does not stay attached", { code: "EINVAL" });
    const size = spec.process.consoleSize;
    add(Op.CONSOLE, "set up the console", { fd: input.consoleFd, n: [size?.height ?? 0, size?.width ?? 0, 1, input.consoleRelayed ? 1 : 0] });
  }
  // Read-only only now, as runc's finalizeRootfs: devpts, mqueue, shm, the devices
  // and /dev/console had to be made in them first. Only the mount itself: what is
  // mounted under it keeps its own flags.
  for (const dest of readonlyLater)
    add(Op.SETATTR, `make ${JSON.stringify(dest)} read-only`, { s: [undefined, dest], n: [MOUNT_ATTR.RDONLY, 0, SETATTR_THIS_MOUNT] });
}

/** OP_PIVOT_ROOT's n0: keep in step with executor.c. */
const ROOT_SWITCH = { PIVOT: 0, MOVE: 1, CHROOT: 2 } as const;

/** OP_SETATTR's n2: the mount itself, not the mounts under it (keep in step with executor.c). */
const SETATTR_THIS_MOUNT = 1;

type Mount = NonNullable<Spec["mounts"]>[number];

/** OP_BIND's n0 flags: keep in step with executor.c. */
const BIND = { RECURSIVE: 1, PROPAGATION_RECURSIVE: 4, IDMAP: 8 } as const;

/** The mounts[] index of an idmapped OP_BIND (the executor sends its op index to the parent). */
export function idmapMountOf(op: Operation | undefined): number | undefined {
  if (op?.code !== Op.BIND) return undefined;
  const how = BigInt(op.n?.[0] as number | bigint);
  return how & BigInt(BIND.IDMAP) ? Number(how >> 32n) : undefined;
}

function compileMount(input: CompileInput, m: Mount, index: number, add: Add, readonlyLater: string[]): void {
  const opts = parseMountOptions(m.options);
  const dest = m.destination;
  const type = m.type ?? "";
  const what = `mount ${JSON.stringify(m.source ?? type)} to ${JSON.stringify(dest)}`;
  if (opts.bind || type === "bind") {
    const source = path.resolve(input.bundle, m.source ?? "");
    if ((opts.idmap || m.uidMappings || m.gidMappings) && !input.idmapped?.has(index))
      throw new BuncError(`${what}: the idmapped mount was not planned`, { code: "EINVAL" });
    if (input.idmapped?.has(index)) {
      // The executor clones the source and hands the tree to the parent, which sets its
      // attributes and idmapping (src/container/idmap.ts); the mount's index rides in n0's high half.
      const how = BIND.IDMAP | (opts.recursiveBind ? BIND.RECURSIVE : 0) | (opts.propagation & MS.REC ? BIND.PROPAGATION_RECURSIVE : 0);
      const kind = input.isDirectory(source) ? Create.DIR : Create.FILE;
      add(Op.BIND, `${what} (idmapped)`, { s: [source, dest], n: [BigInt(how) | (BigInt(index) << 32n), 0, 0, opts.propagation & ~MS.REC, kind] });
      return;
    }
    const { set, clear } = bindAttributes(opts);
    const how = (opts.recursiveBind ? BIND.RECURSIVE : 0) | (opts.propagation & MS.REC ? BIND.PROPAGATION_RECURSIVE : 0);
    const kind = input.isDirectory(source) ? Create.DIR : Create.FILE;
    // MOUNT_ATTR_* fit in 32 bits: the high half carries the recursive ("rro", …) attributes.
    const packedSet = BigInt(set) | (BigInt(opts.recursiveSet) << 32n);
    const packedClear = BigInt(clear) | (BigInt(opts.recursiveClear) << 32n);
    add(Op.BIND, what, { fd: input.bindTrees?.get(index), s: [source, dest], n: [how, packedSet, packedClear, opts.propagation & ~MS.REC, kind] });
    return;
  }
  if (type === "cgroup" || type === "cgroup2") compileCgroupMount(input, m, opts.flags, add);
  else {
    // proc and sysfs must land on an ordinary directory, never through a symlink (CVE-2019-19921).
    let kind: number = type === "proc" || type === "sysfs" ? Create.DIR | Create.NO_SYMLINKS : Create.DIR;
    if (opts.tmpcopyup) {
      if (type !== "tmpfs") throw new BuncError(`${what}: tmpcopyup applies only to tmpfs mounts`, { code: "CONFIG" });
      kind |= Create.COPY_UP;
    }
    const data = withMountLabel(opts.data, type, input.spec.linux?.mountLabel);
    // A read-only tmpfs or /dev is mounted writable and made read-only at the end
    // (runc's mountPropagate): mounts, devices and copied-up files go in it first.
    let flags = opts.flags;
    if (flags & MS.RDONLY && (type === "tmpfs" || cleanPath(dest) === "/dev")) {
      flags &= ~MS.RDONLY;
      readonlyLater.push(dest);
    }
    add(Op.MOUNT, what, { s: [m.source ?? type, dest, type, data || undefined], n: [flags, kind] });
    // mqueue takes no context= option: runc labels its root directory instead (label.SetFileLabel).
    const label = input.spec.linux?.mountLabel;
    if (type === "mqueue" && label) add(Op.SETXATTR, `set the selinux label of ${dest}`, { s: [undefined, dest, "security.selinux", label] });
    if (opts.propagation) add(Op.PROPAGATE, `set propagation of ${dest}`, { s: [undefined, dest], n: [opts.propagation] });
  }
  // "rro", "rnosuid", …: mount(2) has no recursive flags, so they are set on the new
  // mount and everything under it with mount_setattr(2) AT_RECURSIVE (runc does the same).
  if (opts.recursiveSet || opts.recursiveClear)
    add(Op.SETATTR, `set recursive attributes of ${JSON.stringify(dest)}`, { s: [undefined, dest], n: [opts.recursiveSet, opts.recursiveClear] });
}

/**
 * A "cgroup" mount on a v1 host shows the container's own cgroups: a tmpfs
 * with one bind mount per hierarchy, made read-only afterwards when asked
 * (runc's mountCgroupV1).
 */
function compileCgroupMount(input: CompileInput, m: Mount, flags: number, add: Add): void {
  const dest = m.destination;
  const attrs = bindAttributes(parseMountOptions(m.options));
  if (input.cgroupBinds.length === 1 && input.cgroupBinds[0]!.name === "") {
    // cgroup v2: the container's own cgroup directory is the whole mount. Read-only
    // comes from the bind's mount attributes: a remount without MS_BIND here would
    // make the host's cgroup2 superblock read-only.
    add(Op.BIND, `mount cgroup to ${JSON.stringify(dest)}`, { s: [input.cgroupBinds[0]!.source, dest], n: [0, attrs.set, 0, 0, Create.DIR] });
    return;
  }
  add(Op.MOUNT, `mount tmpfs for cgroups to ${JSON.stringify(dest)}`, { s: ["tmpfs", dest, "tmpfs", "mode=755"], n: [flags & ~MS.RDONLY, Create.DIR] });
  for (const b of input.cgroupBinds) {
    const target = path.join(dest, b.name);
    add(Op.BIND, `mount cgroup ${b.name} to ${JSON.stringify(target)}`, { s: [b.source, target], n: [0, attrs.set, 0, 0, Create.DIR] });
  }
  if (flags & MS.RDONLY)
    add(Op.MOUNT, `make ${JSON.stringify(dest)} read-only`, { s: [undefined, dest, undefined, undefined], n: [flags | MS.REMOUNT, Create.NONE] });
}

/** OP_HOOK's operands: the path, argv (args, or the path), env, timeout and the state fd for stdin. */
export function hookFields(h: Hook, stateFd: number, failMessage?: [head: string, tail: string]): Omit<Operation, "code" | "what"> {
  const signals = failMessage ? { strings: SIGNAL_TEXT.map((t) => `signal: ${t}`) } : 0;
  return { fd: stateFd, s: [h.path, ...(failMessage ?? [])], n: [{ strings: h.args?.length ? h.args : [h.path] }, { strings: h.env ?? [] }, h.timeout ?? 0, signals] };
}

/** Hostname and domainname, then the process itself. */
function compileIdentityAndProcess(input: CompileInput, add: Add, warnings: string[]): void {
  const { spec } = input;
  const proc = spec.process!;
  const linux = spec.linux ?? {};
  const uts = (linux.namespaces ?? []).some((ns) => ns.type === "uts");
  if (spec.hostname !== undefined && spec.hostname !== "") {
    if (!uts) throw new BuncError("config.json: hostname: needs a uts namespace", { code: "CONFIG" });
    add(Op.SETHOSTNAME, `set hostname ${JSON.stringify(spec.hostname)}`, { s: [spec.hostname] });
  }
  if (spec.domainname !== undefined && spec.domainname !== "") {
    if (!uts) throw new BuncError("config.json: domainname: needs a uts namespace", { code: "CONFIG" });
    add(Op.SETDOMAINNAME, `set domainname ${JSON.stringify(spec.domainname)}`, { s: [spec.domainname] });
  }
  if (linux.personality) add(Op.PERSONALITY, `set personality ${linux.personality.domain}`, { n: [personaValue(linux.personality)] });
  const startHooks: Operation[] = (input.hooks?.startContainer ?? []).map((h) => ({
    code: Op.HOOK,
    what: `run startContainer hook ${JSON.stringify(h.path)}`,
    // runc's words ("error running hook"), then why (the executor writes it), then what it means.
    ...hookFields(h, input.hooks!.startStateFd, [`bunc: startContainer hook ${JSON.stringify(h.path)} failed (error running hook: `, "): the container stops\n"]),
  }));
  compileProcess(proc, {
    home: input.home,
    preserveFds: input.preserveFds,
    fifo: input.fifo,
    seccomp: input.seccomp,
    lastCap: input.lastCap,
    warnings,
    startHooks,
    memoryPolicy: linux.memoryPolicy ? memoryPolicyStep(linux.memoryPolicy) : undefined,
    rootlessEUID: !(input.mapWriter ?? ROOT).privileged,
    setgroupsDenied: input.setgroupsDenied,
  }, add);
}

export { candidates } from "./process";

/** A path cleaned as Go's filepath.Clean: no ".", "..", doubled or trailing slashes. */
function cleanPath(p: string): string {
  const clean = path.normalize(p);
  return clean.length > 1 && clean.endsWith("/") ? clean.slice(0, -1) : clean;
}

/**
 * Whether the rootfs's parent mount is shared once "/" got the propagation
 * flags: runc reads mountinfo at that point (rootfsParentMountPrivate). A
 * recursive change, or one of "/" itself, sets it: shared only for
 * shared/rshared, whatever it was on the host; otherwise it is as on the host.
 */
function sharedAfter(parent: { mountpoint: string; shared: boolean }, propagation: number): boolean {
  const changed = parent.mountpoint === "/" || (propagation & MS.REC) !== 0;
  return changed ? (propagation & ~MS.REC) === MS.SHARED : parent.shared;
}
