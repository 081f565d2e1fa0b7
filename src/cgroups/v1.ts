/**
 * cgroup v1: one directory per hierarchy (Documentation/admin-guide/cgroup-v1).
 * A relative cgroupsPath is relative to this process's own cgroup in each
 * hierarchy, an absolute one to the hierarchy's root, as in runc's fs driver.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import type { CgroupBind } from "../plan/compile";
import { deviceLine, deviceRules } from "./devices";
import { hierarchies, ownCgroups } from "./hierarchies";
import type { CgroupManager } from "./manager";
import type { LinuxResources } from "./resources";

export class V1Manager implements CgroupManager {
  readonly paths: Record<string, string>;
  /** Mount points of cgroup2 hierarchies (not bound into the container's /sys/fs/cgroup). */
  private unified = new Set<string>();
  constructor(cgroupsPath: string | Record<string, string>) {
    if (typeof cgroupsPath !== "string") {
      this.paths = cgroupsPath;
      return;
    }
    const own = ownCgroups();
    this.paths = {};
    // On a hybrid host the cgroup2 hierarchy (/sys/fs/cgroup/unified) is joined too, as runc does.
    for (const h of hierarchies()) {
      if (h.version === 2) this.unified.add(h.mountpoint);
      const base = cgroupsPath.startsWith("/") ? "/" : (own.get(h.version === 2 ? "" : h.controllers.join(",")) ?? "/");
      // A mount of a sub-tree (mountinfo root not "/") shows paths relative to that root.
      const inner = path.relative(h.root, path.join(base, cgroupsPath));
      this.paths[h.mountpoint] = path.join(h.mountpoint, inner.startsWith("..") ? cgroupsPath : inner);
    }
  }

  static fromPaths(paths: Record<string, string>): V1Manager {
    return new V1Manager(paths);
  }

  create(): void {
    try {
      for (const [mountpoint, dir] of Object.entries(this.paths)) {
        mkdirSync(dir, { recursive: true });
        if (path.basename(mountpoint).split(",").includes("cpuset")) inheritCpuset(mountpoint, dir);
      }
    } catch (e) {
      this.destroy();
      throw new BuncError(`create cgroup: ${(e as Error).message}`, { code: "CGROUP", cause: e });
    }
  }

  apply(resources: LinuxResources | undefined): void {
    const devices = this.dir("devices");
    if (!devices) return;
    for (const rule of deviceRules(resources?.devices)) {
      const file = path.join(devices, rule.allow ? "devices.allow" : "devices.deny");
      write(file, deviceLine(rule));
    }
  }

  addProcess(pid: number): void {
    for (const dir of Object.values(this.paths)) write(path.join(dir, "cgroup.procs"), String(pid));
  }

  pids(): number[] {
    const dir = this.dir("pids") ?? this.dir("freezer") ?? Object.values(this.paths)[0];
    if (!dir) return [];
    try {
      return readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  thaw(): void {
    const freezer = this.dir("freezer");
    if (freezer) write(path.join(freezer, "freezer.state"), "THAWED");
  }

  destroy(): void {
    let failure: unknown;
    for (const dir of Object.values(this.paths)) {
      try {
        rmdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") failure ??= e;
      }
    }
    if (failure) throw new BuncError(`remove cgroup: ${(failure as Error).message}`, { code: "CGROUP", cause: failure });
  }

  binds(): CgroupBind[] {
    return Object.entries(this.paths)
      .filter(([mountpoint]) => !this.unified.has(mountpoint))
      .map(([mountpoint, dir]) => ({ source: dir, name: path.basename(mountpoint) }));
  }

  /** The container's directory in the hierarchy that has this controller. */
  private dir(controller: string): string | undefined {
    const hit = Object.entries(this.paths).find(([mp]) => path.basename(mp).split(",").includes(controller));
    return hit?.[1];
  }
}

/**
 * A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and
 * no process can join it until they are set (cgroup-v1/cpusets.rst): copy
 * them down from the nearest ancestor, level by level.
 */
function inheritCpuset(mountpoint: string, dir: string): void {
  const levels = path.relative(mountpoint, dir).split("/").filter(Boolean);
  let parent = mountpoint;
  for (const level of levels) {
    const child = path.join(parent, level);
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if (readFileSync(path.join(child, file), "utf8").trim() === "")
        write(path.join(child, file), readFileSync(path.join(parent, file), "utf8").trim());
    }
    parent = child;
  }
}

function write(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch (e) {
    throw new BuncError(`write ${JSON.stringify(value)} to ${file}: ${(e as Error).message}`, { code: "CGROUP", cause: e });
  }
}
