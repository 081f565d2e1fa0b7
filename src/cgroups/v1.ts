/**
 * cgroup v1: one directory per hierarchy (Documentation/admin-guide/cgroup-v1).
 * A relative cgroupsPath is relative to this process's own cgroup in each
 * hierarchy, an absolute one to the hierarchy's root, as in runc's fs driver.
 */
import { existsSync, readFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { rawSyscall, SYS } from "../linux/libc";
import type { CgroupBind } from "../plan/compile";
import { allPids, MadeDirs, removeTree } from "./dirs";
import { keyValues, readCgroupFile, readNumber, waitFor, writeCgroupFile as write, writeCgroupFileValues as writeValues } from "./fsio";
import { hierarchies, ownCgroups } from "./hierarchies";
import type { CgroupManager } from "./manager";
import { v1OomNotifier, type OomNotifier } from "./oom";
import type { LinuxResources } from "./resources";
import { v1Stats, type Stats } from "./stats";
import { v1Writes, type CgroupWrite } from "./writes";

/** The pseudo-controller of hugetlb limits written in a hybrid host's cgroup2 hierarchy. */
const UNIFIED_HUGETLB = "hugetlb (cgroup2)";

export class V1Manager implements CgroupManager {
  readonly version = 1;
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

  /** The directories create() made (see removeMade). */
  private made = new MadeDirs();

  existing(): { pids: number[]; frozen: boolean } {
    return { pids: this.pids(), frozen: this.selfFrozen() };
  }

  /**
   * FROZEN in the container's own freezer directory, and frozen by itself
   * (freezer.self_freezing 1) rather than through a frozen ancestor, as
   * runc's FreezerGroup.GetState: FREEZING is waited out.
   */
  private selfFrozen(): boolean {
    const freezer = this.dir("freezer");
    if (!freezer) return false;
    for (;;) {
      const state = readCgroupFile(path.join(freezer, "freezer.state"))?.trim();
      if (state === "FREEZING") {
        Bun.sleepSync(1);
        continue;
      }
      if (state !== "FROZEN") return false;
      return readCgroupFile(path.join(freezer, "freezer.self_freezing"))?.trim() !== "0";
    }
  }

  create(): void {
    this.made.create(() => {
      for (const [mountpoint, dir] of Object.entries(this.paths)) {
        this.made.make(dir);
        if (path.basename(mountpoint).split(",").includes("cpuset")) inheritCpuset(mountpoint, dir);
      }
    });
  }

  removeMade(): void {
    this.made.remove();
  }

  apply(resources: LinuxResources | undefined, opts: { update?: boolean; current?: LinuxResources; rootless?: boolean } = {}): string[] {
    const warnings: string[] = [];
    const all = v1Writes(resources, { devices: !opts.update, warnings }).map((w) => this.hugetlbInUnified(w));
    // Rootless: device rules need CAP_SYS_ADMIN (devices.allow/deny); runc's Set tries them and ignores the failure.
    const deviceWrites = opts.rootless ? all.filter((w) => w.controller === "devices") : [];
    const writes = opts.rootless ? all.filter((w) => w.controller !== "devices") : all;
    // Every controller first, so that nothing is written when one is missing.
    const dirs = writes.map((w) => {
      const dir = w.controller === UNIFIED_HUGETLB ? this.unifiedDir() : this.dir(w.controller);
      if (!dir) throw new BuncError(`cgroup: the ${w.controller} controller is not mounted on this host (needed for ${w.file})`, { code: "ENOTSUP" });
      return dir;
    });
    if (writes.some((w) => w.controller === UNIFIED_HUGETLB)) this.enableUnifiedHugetlb();
    if (opts.update && resources?.memory?.checkBeforeUpdate && resources.memory.limit !== undefined && resources.memory.limit >= 0) {
      const usage = readNumber(path.join(this.dir("memory")!, "memory.usage_in_bytes"));
      if (BigInt(resources.memory.limit) < usage)
        throw new BuncError(`linux.resources.memory.limit: ${resources.memory.limit} is below the current usage ${usage} (checkBeforeUpdate)`, { code: "CONFIG" });
    }
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      const next = writes[i + 1];
      // Raising the limit above the current memory+swap limit fails: write memsw first then.
      if (w.file === "memory.limit_in_bytes" && next?.file === "memory.memsw.limit_in_bytes") {
        if (!tryWrite(dirs[i]!, w)) {
          write(path.join(dirs[i + 1]!, next.file), next.value);
          write(path.join(dirs[i]!, w.file), w.value);
        } else write(path.join(dirs[i + 1]!, next.file), next.value);
        i++;
        continue;
      }
      // A period shorter than the current one fails (EINVAL) when the current quota over the
      // new period exceeds a parent's (a pod's) quota: write the new quota first, then the
      // period again (as runc's CpuGroup.Set). Without a new quota the error stands.
      if (w.file === "cpu.cfs_period_us" && next?.file === "cpu.cfs_quota_us") {
        const periodWritten = tryWrite(dirs[i]!, w);
        write(path.join(dirs[i + 1]!, next.file), next.value);
        if (!periodWritten) write(path.join(dirs[i]!, w.file), w.value);
        i++;
        continue;
      }
      // A run of writes to one file (the device rules) goes through one open file.
      let last = i;
      while (writes[last + 1]?.file === w.file && dirs[last + 1] === dirs[i]) last++;
      if (last > i) {
        writeValues(path.join(dirs[i]!, w.file), writes.slice(i, last + 1).map((x) => x.value));
        i = last;
      } else write(path.join(dirs[i]!, w.file), w.value);
    }
    const devices = this.dir("devices");
    if (devices) {
      try {
        for (const w of deviceWrites) write(path.join(devices, w.file), w.value);
      } catch {
        // ignored, as runc: the first refusal ends the rules
      }
    }
    return warnings;
  }

  /**
   * A hybrid host may have hugetlb in its cgroup2 hierarchy rather than as a
   * v1 one (this host kind: /sys/fs/cgroup/unified lists it). The container
   * is in that hierarchy too, so its limit goes there, under cgroup v2's name.
   */
  private hugetlbInUnified(w: CgroupWrite): CgroupWrite {
    if (w.controller !== "hugetlb" || this.dir("hugetlb") || !this.unifiedDir()) return w;
    return { controller: UNIFIED_HUGETLB, file: w.file.replace(/\.limit_in_bytes$/, ".max"), value: w.value };
  }

  /** The container's directory in the cgroup2 hierarchy of a hybrid host. */
  private unifiedDir(): string | undefined {
    return Object.entries(this.paths).find(([mp]) => existsSync(path.join(mp, "cgroup.controllers")))?.[1];
  }

  /**
   * hugetlb's files appear in the container's cgroup2 directory only when
   * every ancestor lists it in cgroup.subtree_control. bunc enables it only
   * in directories it made itself for this container: an ancestor of the
   * host's (the hierarchy's root above all) is host-wide configuration,
   * which a container's limits must not change, so one without it is an
   * error naming the file to change.
   */
  private enableUnifiedHugetlb(): void {
    const [mountpoint, dir] = Object.entries(this.paths).find(([mp]) => existsSync(path.join(mp, "cgroup.controllers")))!;
    let parent = mountpoint;
    for (const level of path.relative(mountpoint, dir).split("/").filter(Boolean)) {
      const control = path.join(parent, "cgroup.subtree_control");
      const enabled = (readCgroupFile(control) ?? "").trim().split(/\s+/).includes("hugetlb");
      if (!enabled) {
        if (!this.made.has(parent))
          throw new BuncError(`hugepageLimits: this host has no cgroup v1 hugetlb hierarchy, and its cgroup2 hierarchy ${mountpoint} does not enable hugetlb in ${control} (bunc does not change the host's cgroups; enable it there, or let bunc make the cgroup's parents)`, { code: "ENOTSUP" });
        write(control, "+hugetlb");
      }
      parent = path.join(parent, level);
    }
  }

  addProcess(pid: number): void {
    for (const dir of Object.values(this.paths)) write(path.join(dir, "cgroup.procs"), String(pid));
  }

  joinTargets(): { tasks: string[]; cloneInto?: string } {
    const tasks: string[] = [];
    let cloneInto: string | undefined;
    // A hybrid host's cgroup2 hierarchy has no "tasks" file: the process is cloned into it.
    for (const dir of Object.values(this.paths)) {
      if (existsSync(path.join(dir, "tasks"))) tasks.push(path.join(dir, "tasks"));
      else cloneInto = dir;
    }
    return { tasks, cloneInto };
  }

  pids(): number[] {
    // Every process below the container's cgroup too, as runc's GetAllPids.
    const dir = this.dir("pids") ?? this.dir("freezer") ?? Object.values(this.paths)[0];
    return dir ? allPids(dir) : [];
  }

  freeze(): void {
    const file = this.freezerFile();
    // The kernel may leave the cgroup FREEZING while a task is busy; writing FROZEN again retries (as runc does).
    const frozen = waitFor(() => {
      write(file, "FROZEN");
      return readCgroupFile(file)?.trim() === "FROZEN";
    }, 5_000);
    if (!frozen) {
      write(file, "THAWED");
      throw new BuncError(`freeze ${file}: the cgroup did not freeze within 5s`, { code: "ETIMEDOUT" });
    }
  }

  thaw(): void {
    const freezer = this.dir("freezer");
    if (!freezer) return;
    try {
      write(path.join(freezer, "freezer.state"), "THAWED");
    } catch (e) {
      // A cgroup that is not there (removed, or a create that died before making it) has nothing to thaw.
      if (existsSync(path.join(freezer, "freezer.state"))) throw e;
    }
  }

  isFrozen(): boolean {
    const freezer = this.dir("freezer");
    const state = freezer ? readCgroupFile(path.join(freezer, "freezer.state"))?.trim() : undefined;
    return state !== undefined && state !== "THAWED";
  }

  /**
   * As runc's signalAllProcesses: freeze so nothing forks past the listing,
   * signal, then thaw — a signal (even SIGKILL) is acted on only by a
   * running task, so a paused container is thawed too, as runc does.
   */
  signalAll(signal: number): void {
    const freezer = this.dir("freezer");
    if (freezer) {
      try {
        this.freeze();
      } catch {
        // A cgroup that will not freeze is still signalled (runc only warns).
      }
    }
    try {
      for (const pid of this.pids()) rawSyscall(SYS.kill, pid, signal);
    } finally {
      if (freezer) this.thaw();
    }
  }

  oomKills(): number {
    const memory = this.dir("memory");
    return memory ? Number(keyValues(readCgroupFile(path.join(memory, "memory.oom_control"))).get("oom_kill") ?? 0n) : 0;
  }

  oomNotifier(): OomNotifier {
    return v1OomNotifier(this.dir("memory"));
  }

  stats(): Stats {
    return v1Stats((c) => this.dir(c));
  }

  private freezerFile(): string {
    const freezer = this.dir("freezer");
    if (!freezer) throw new BuncError("cgroup: the freezer controller is not mounted on this host", { code: "ENOTSUP" });
    return path.join(freezer, "freezer.state");
  }

  destroy(): void {
    let failure: unknown;
    for (const dir of Object.values(this.paths)) {
      try {
        removeTree(dir);
      } catch (e) {
        failure ??= e;
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

/** One write; false when the kernel refuses the value with EINVAL (the caller may retry in another order). */
function tryWrite(dir: string, w: CgroupWrite): boolean {
  try {
    write(path.join(dir, w.file), w.value);
    return true;
  } catch (e) {
    if ((e as BuncError).cause && ((e as BuncError).cause as NodeJS.ErrnoException).code === "EINVAL") return false;
    throw e;
  }
}
