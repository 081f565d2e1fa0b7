/**
 * One interface over the host's cgroup layout: v1 (one hierarchy per
 * controller; this host kind is v1 "hybrid", whose cgroup2 at
 * /sys/fs/cgroup/unified has no controllers and is only joined) or v2 (one
 * unified hierarchy), chosen by looking at /sys/fs/cgroup.
 */
import { existsSync, readFileSync } from "node:fs";
import { BuncError } from "../errors";
import type { CgroupBind } from "../plan/compile";
import type { OomNotifier } from "./oom";
import type { LinuxResources } from "./resources";
import type { Stats } from "./stats";
import { ownCgroups } from "./hierarchies";
import { NoCgroup } from "./none";
import { V1Manager } from "./v1";
import { V2Manager } from "./v2";

export interface CgroupManager {
  readonly version: 1 | 2;
  /** The container's cgroup directory in every hierarchy, by hierarchy mount point. */
  readonly paths: Record<string, string>;
  /**
   * What is there before create makes anything (runc's checks in its
   * factory's Create): the processes anywhere under the container's cgroup,
   * and whether the cgroup itself is frozen (v1: its freezer directory,
   * whether or not the other hierarchies have one; frozen only through an
   * ancestor does not count, as runc's GetFreezerState).
   */
  existing(): { pids: number[]; frozen: boolean };
  /** Make the directories; remove what was made if any step fails. */
  create(): void;
  /** Remove the directories create() made, deepest first, never one that was there before (a failed create's undo). */
  removeMade(): void;
  /**
   * Write the limits of linux.resources (create: with the default device
   * rules; update: only what is given). Invalid values throw before any write.
   * Returns warnings for the settings ignored as runc ignores them.
   */
  apply(resources: LinuxResources | undefined, opts?: { update?: boolean; current?: LinuxResources; rootless?: boolean }): string[];
  /** Move a process into the container's cgroups (the parent's way: a cgroup.procs write each). */
  addProcess(pid: number): void;
  /**
   * How a new process can enter the cgroups itself, which is much cheaper (see
   * src/cgroups/join.ts): v1 "tasks" files it writes "0" to, and a cgroup2
   * directory for clone3's CLONE_INTO_CGROUP.
   */
  joinTargets(): { tasks: string[]; cloneInto?: string };
  /** The pids in the container's cgroup. */
  pids(): number[];
  /** Freeze every process in the cgroup and wait until the kernel says it is frozen. */
  freeze(): void;
  /** Let a frozen (paused) cgroup run again; nothing if it is not frozen. */
  thaw(): void;
  /** Whether the cgroup is frozen (or freezing). */
  isFrozen(): boolean;
  /** Signal every process in the cgroup (v2 SIGKILL: cgroup.kill). */
  signalAll(signal: number): void;
  /** How many processes the OOM killer has killed in this cgroup. */
  oomKills(): number;
  /** The kernel's notification of OOM kills in this cgroup and of its end (events). */
  oomNotifier(): OomNotifier;
  /** runc's stats shape (libcontainer/cgroups/stats.go as `runc events` prints it). */
  stats(): Stats;
  /** Remove the directories (the cgroup must be empty of processes). */
  destroy(): void;
  /** What a "cgroup" mount inside the container binds. */
  binds(): CgroupBind[];
  /**
   * The container's process exists, blocked before its setup: a driver that
   * must be told its pid (systemd's scope) is told now. Returns warnings.
   */
  started?(pid: number): string[];
  /** The systemd driver's unit (prefix-name.scope), kept in state.json for update and delete. */
  readonly unit?: string;
}

/** Whether this mount namespace's /sys/fs/cgroup is a cgroup2 (unified) hierarchy. */
export function isUnifiedHost(): boolean {
  return existsSync("/sys/fs/cgroup/cgroup.controllers");
}

/** The manager for this host, for a container with the given cgroupsPath (or default from its id). */
export function cgroupManager(id: string, cgroupsPath: string | undefined, opts: { systemd?: boolean; annotations?: Record<string, string> } = {}): CgroupManager {
  if (opts.systemd) return systemdManager(id, cgroupsPath, opts.annotations);
  // Without the systemd driver "slice:prefix:name" is only a relative path
  // with colons in it, as runc's cgroupfs driver takes it (fs/paths.go innerPath).
  if (cgroupsPath?.split("/").includes(".."))
    throw new BuncError(`config.json: linux.cgroupsPath: must not contain "..": ${JSON.stringify(cgroupsPath)}`, { code: "CONFIG" });
  return isUnifiedHost() ? new V2Manager(cgroupsPath || id) : new V1Manager(cgroupsPath || id);
}

/** The systemd driver, loaded only when asked for (its D-Bus client is no part of other commands). */
function systemdManager(id: string, cgroupsPath: string | undefined, annotations: Record<string, string> | undefined): CgroupManager {
  // runc's check (IsRunningSystemd): systemd as init makes this directory (sd_booted(3)).
  if (!existsSync("/run/systemd/system")) throw new BuncError("systemd not running on this host, cannot use systemd cgroups manager", { code: "ENOTSUP" });
  if ((process.geteuid?.() ?? 0) !== 0) throw new BuncError("--systemd-cgroup: a non-root user's systemd (systemd --user) is not supported", { code: "ENOTSUP" });
  const { SystemdManager } = require("./systemd/manager") as typeof import("./systemd/manager");
  const unified = isUnifiedHost();
  // systemd's own hierarchy in PID 1's /proc/1/cgroup: where its root (-.slice) is.
  const own = ownCgroups(readFileSync("/proc/1/cgroup", "utf8"));
  const initRoot = (unified ? own.get("") : own.get("name=systemd")) ?? "/";
  return SystemdManager.forContainer(id, cgroupsPath, annotations, (p) => (unified ? new V2Manager(p) : new V1Manager(p)), initRoot);
}

/** The manager of a container from its record: the systemd driver's when it has a unit. */
export function cgroupManagerOf(record: { cgroupPaths: Record<string, string>; systemdUnit?: string }): CgroupManager {
  const fs = cgroupManagerFromPaths(record.cgroupPaths);
  if (!record.systemdUnit) return fs;
  const { SystemdManager } = require("./systemd/manager") as typeof import("./systemd/manager");
  return new SystemdManager(record.systemdUnit, fs);
}

/** Rebuild a manager from the paths saved in state.json. */
export function cgroupManagerFromPaths(paths: Record<string, string>): CgroupManager {
  // A rootless container left out of every hierarchy (src/cgroups/rootless.ts).
  if (Object.keys(paths).length === 0) return new NoCgroup(isUnifiedHost() ? 2 : 1);
  return isUnifiedHost() ? V2Manager.fromPaths(paths) : V1Manager.fromPaths(paths);
}
