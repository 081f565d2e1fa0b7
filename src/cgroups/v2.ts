/**
 * cgroup v2: one unified hierarchy (Documentation/admin-guide/cgroup-v2.rst).
 * A relative cgroupsPath is under the *parent* of this process's own cgroup
 * (runc's fs2 defaultDirPath): the process's own cgroup has processes in it,
 * and cgroup v2's no-internal-process rule forbids enabling controllers for
 * a child there; its parent (a delegated user slice, say) is where the
 * container's cgroup belongs. An absolute one is under the hierarchy's root. Device rules are an
 * eBPF program attached to the cgroup (device-filter.ts), as in runc and crun.
 */
import { closeSync, constants, existsSync, openSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { attachDeviceProgram, attachedDevicePrograms, detachDeviceProgram, DEVICE_PROGRAM_NAME, loadDeviceProgram, openProgram } from "../linux/bpf";
import { rawSyscall, SYS } from "../linux/libc";
import { deviceRules } from "./devices";
import { deviceProgram, emulateDeviceRules } from "./device-filter";
import type { CgroupBind } from "../plan/compile";
import { allPids, MadeDirs, removeTree } from "./dirs";
import { keyValues, readCgroupFile, readNumber, waitFor, writeCgroupFile as write } from "./fsio";
import { hierarchies, ownCgroups } from "./hierarchies";
import type { CgroupManager } from "./manager";
import { v2OomNotifier, type OomNotifier } from "./oom";
import type { LinuxResources } from "./resources";
import { v2Stats, type Stats } from "./stats";
import { v2Writes } from "./writes";

const SIGKILL = 9;

export class V2Manager implements CgroupManager {
  readonly version = 2;
  readonly paths: Record<string, string>;
  private readonly mountpoint: string;
  private readonly dir: string;

  /** The bpf side of device rules; a unit test on a fake cgroupfs records instead. */
  private readonly attachDevices: (dir: string, program: Uint8Array) => void;

  constructor(cgroupsPath: string | Record<string, string>, deps: { attachDevices?: (dir: string, program: Uint8Array) => void } = {}) {
    this.attachDevices = deps.attachDevices ?? attachDeviceFilter;
    if (typeof cgroupsPath !== "string") {
      const entry = Object.entries(cgroupsPath)[0];
      if (!entry) throw new BuncError("state.json has no cgroup path", { code: "STATE" });
      this.paths = cgroupsPath;
      [this.mountpoint, this.dir] = entry;
      return;
    }
    const h = hierarchies().find((x) => x.version === 2);
    if (!h) throw new BuncError("cgroup v2: no cgroup2 mount found in /proc/self/mountinfo", { code: "ENOTSUP" });
    const base = cgroupsPath.startsWith("/") ? "/" : path.dirname(ownCgroups().get("") ?? "/");
    const inner = path.relative(h.root, path.join(base, cgroupsPath));
    this.mountpoint = h.mountpoint;
    this.dir = path.join(h.mountpoint, inner.startsWith("..") ? cgroupsPath : inner);
    this.paths = { [this.mountpoint]: this.dir };
  }

  static fromPaths(paths: Record<string, string>, deps: ConstructorParameters<typeof V2Manager>[1] = {}): V2Manager {
    return new V2Manager(paths, deps);
  }

  /** The directories create() made (see removeMade). */
  private made = new MadeDirs();

  existing(): { pids: number[]; frozen: boolean } {
    // cgroup.freeze is the cgroup's own setting (an ancestor's freeze shows only in cgroup.events).
    return { pids: this.pids(), frozen: readCgroupFile(path.join(this.dir, "cgroup.freeze"))?.trim() === "1" };
  }

  create(): void {
    this.made.create(() => {
      this.made.make(this.dir);
      this.enableControllers();
    });
  }

  removeMade(): void {
    this.made.remove();
  }

  /**
   * A controller's files appear in a cgroup only when its parent lists it in
   * cgroup.subtree_control: enable what each ancestor has, top down (as runc).
   * A level that refuses (processes in it, or a threaded cgroup) is left as
   * it is; a limit that then cannot be written says so.
   */
  private enableControllers(): void {
    let parent = this.mountpoint;
    for (const level of path.relative(this.mountpoint, this.dir).split("/").filter(Boolean)) {
      const available = (readCgroupFile(path.join(parent, "cgroup.controllers")) ?? "").trim();
      if (available === "") return; // nothing below can have more
      const file = path.join(parent, "cgroup.subtree_control");
      // Only what is missing: a level that has them all (the root, usually) is not written at all.
      const enabled = new Set((readCgroupFile(file) ?? "").trim().split(/\s+/));
      const wanted = available.split(/\s+/).filter((c) => !enabled.has(c)).map((c) => `+${c}`);
      if (wanted.length > 0) enable(file, wanted);
      parent = path.join(parent, level);
    }
  }

  apply(resources: LinuxResources | undefined, opts: { update?: boolean; current?: LinuxResources; rootless?: boolean } = {}): string[] {
    // cpu.max holds quota and period together: an update of the period alone keeps the quota in force,
    // the recorded one (the file's when the record has none: a container of an older bunc).
    if (opts.update && resources?.cpu?.period && resources.cpu.quota === undefined) {
      const inFile = (readCgroupFile(path.join(this.dir, "cpu.max")) ?? "max").trim().split(/\s+/)[0];
      const quota = opts.current?.cpu?.quota ?? (inFile === "max" || inFile === undefined ? -1 : Number(inFile));
      resources = { ...resources, cpu: { ...resources.cpu, quota } };
    }
    const warnings: string[] = [];
    const writes = v2Writes(resources, { devices: !opts.update, warnings });
    // create: the config's rules and the defaults; update: only when rules are given (they replace the old program).
    const program = !opts.update || resources?.devices ? deviceProgram(emulateDeviceRules(deviceRules(resources?.devices, warnings))) : undefined;
    // Every controller first, so that nothing is written when one is missing.
    if (writes.length > 0) {
      const enabled = new Set((readCgroupFile(path.join(this.dir, "cgroup.controllers")) ?? "").trim().split(/\s+/));
      const missing = writes.find((w) => w.controller !== "cgroup" && !enabled.has(w.controller));
      if (missing) throw new BuncError(`cgroup v2: the ${missing.controller} controller is not enabled for ${this.dir} (needed for ${missing.file})`, { code: "ENOTSUP" });
    }
    if (opts.update && resources?.memory?.checkBeforeUpdate && resources.memory.limit !== undefined && resources.memory.limit >= 0) {
      const usage = readNumber(path.join(this.dir, "memory.current"));
      if (BigInt(resources.memory.limit) < usage)
        throw new BuncError(`linux.resources.memory.limit: ${resources.memory.limit} is below the current usage ${usage} (checkBeforeUpdate)`, { code: "CONFIG" });
    }
    try {
      if (program) this.attachDevices(this.dir, program);
    } catch (e) {
      // Rootless: attaching the program needs CAP_BPF (or CAP_SYS_ADMIN); runc ignores its failure there.
      if (!opts.rootless) throw e;
    }
    for (const w of writes) write(path.join(this.dir, w.file), w.value);
    return warnings;
  }

  addProcess(pid: number): void {
    write(path.join(this.dir, "cgroup.procs"), String(pid));
  }

  joinTargets(): { tasks: string[]; cloneInto?: string } {
    return { tasks: [], cloneInto: this.dir };
  }

  pids(): number[] {
    // Every process below the container's cgroup too, as runc's GetAllPids.
    return allPids(this.dir);
  }

  freeze(): void {
    write(path.join(this.dir, "cgroup.freeze"), "1");
    if (!waitFor(() => this.events().get("frozen") === 1n, 5_000)) {
      write(path.join(this.dir, "cgroup.freeze"), "0");
      throw new BuncError(`freeze ${this.dir}: the cgroup did not freeze within 5s`, { code: "ETIMEDOUT" });
    }
  }

  thaw(): void {
    try {
      write(path.join(this.dir, "cgroup.freeze"), "0");
    } catch (e) {
      if (existsSync(path.join(this.dir, "cgroup.freeze"))) throw e;
    }
  }

  isFrozen(): boolean {
    return readCgroupFile(path.join(this.dir, "cgroup.freeze"))?.trim() === "1";
  }

  signalAll(signal: number): void {
    // cgroup.kill (Linux 5.14) kills every process, even ones forking meanwhile.
    if (signal === SIGKILL && existsSync(path.join(this.dir, "cgroup.kill"))) {
      write(path.join(this.dir, "cgroup.kill"), "1");
      return;
    }
    for (const pid of this.pids()) rawSyscall(SYS.kill, pid, signal);
  }

  oomKills(): number {
    return Number(keyValues(readCgroupFile(path.join(this.dir, "memory.events"))).get("oom_kill") ?? 0n);
  }

  oomNotifier(): OomNotifier {
    return v2OomNotifier(this.dir);
  }

  stats(): Stats {
    return v2Stats(this.dir);
  }

  destroy(): void {
    try {
      removeTree(this.dir);
    } catch (e) {
      throw new BuncError(`remove cgroup: ${(e as Error).message}`, { code: "CGROUP", cause: e });
    }
  }

  binds(): CgroupBind[] {
    // The container's /sys/fs/cgroup shows its own cgroup.
    return [{ source: this.dir, name: "" }];
  }

  private events(): Map<string, bigint> {
    return keyValues(readCgroupFile(path.join(this.dir, "cgroup.events")));
  }
}

/**
 * Attach a device program to the cgroup at dir, then detach the ones bunc
 * attached before (an update), so the cgroup is never without one. Programs
 * others attached stay: with BPF_F_ALLOW_MULTI each must allow, so they can
 * only restrict.
 */
export function attachDeviceFilter(dir: string, program: Uint8Array): void {
  const dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const old = attachedDevicePrograms(dirFd);
    const prog = loadDeviceProgram(program);
    try {
      attachDeviceProgram(dirFd, prog);
    } finally {
      closeSync(prog);
    }
    for (const id of old) {
      const p = openProgram(id);
      if (!p) continue;
      try {
        if (p.name === DEVICE_PROGRAM_NAME) detachDeviceProgram(dirFd, p.fd);
      } finally {
        closeSync(p.fd);
      }
    }
  } catch (e) {
    throw new BuncError(`cgroup v2 device rules on ${dir}: ${(e as Error).message}`, { code: (e as BuncError).code ?? "CGROUP", cause: e });
  } finally {
    closeSync(dirFd);
  }
}

/** All at once, else one by one: a controller the level refuses is left disabled (see enableControllers). */
function enable(subtreeControl: string, wanted: string[]): void {
  try {
    write(subtreeControl, wanted.join(" "));
  } catch {
    for (const c of wanted) {
      try {
        write(subtreeControl, c);
      } catch {
        // Left disabled.
      }
    }
  }
}
