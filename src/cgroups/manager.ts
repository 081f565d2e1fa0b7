/**
 * One interface over the host's cgroup layout. This host kind is v1
 * "hybrid" (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified with no
 * controllers): the v1 manager owns the container's cgroups there.
 */
import { existsSync } from "node:fs";
import { BuncError } from "../errors";
import type { CgroupBind } from "../plan/compile";
import type { LinuxResources } from "./resources";
import { V1Manager } from "./v1";

export interface CgroupManager {
  /** The container's cgroup directory in every hierarchy, by hierarchy mount point. */
  readonly paths: Record<string, string>;
  /** Make the directories; remove what was made if any step fails. */
  create(): void;
  /** Write the limits of linux.resources. */
  apply(resources: LinuxResources | undefined): void;
  /** Move a process into the container's cgroups. */
  addProcess(pid: number): void;
  /** The pids in the container's cgroup. */
  pids(): number[];
  /** Let a frozen (paused) cgroup run again; nothing if it is not frozen. */
  thaw(): void;
  /** Remove the directories (the cgroup must be empty of processes). */
  destroy(): void;
  /** What a "cgroup" mount inside the container binds. */
  binds(): CgroupBind[];
}

/** The manager for this host, for a container with the given cgroupsPath (or default from its id). */
export function cgroupManager(id: string, cgroupsPath: string | undefined, opts: { systemd?: boolean } = {}): CgroupManager {
  if (opts.systemd || (cgroupsPath && /^[^/:]*:[^:]*:[^:]*$/.test(cgroupsPath) && !cgroupsPath.startsWith("/")))
    throw new BuncError("systemd cgroup driver is not supported (--systemd-cgroup, cgroupsPath \"slice:prefix:name\")", { code: "ENOTSUP" });
  if (cgroupsPath?.split("/").includes(".."))
    throw new BuncError(`config.json: linux.cgroupsPath: must not contain "..": ${JSON.stringify(cgroupsPath)}`, { code: "CONFIG" });
  if (existsSync("/sys/fs/cgroup/cgroup.controllers"))
    throw new BuncError("cgroup v2 (unified) hosts are not supported yet", { code: "ENOTSUP" });
  return new V1Manager(cgroupsPath || id);
}

/** Rebuild a manager from the paths saved in state.json. */
export function cgroupManagerFromPaths(paths: Record<string, string>): CgroupManager {
  return V1Manager.fromPaths(paths);
}
