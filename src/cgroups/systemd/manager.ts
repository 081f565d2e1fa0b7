/**
 * The systemd cgroup driver (--systemd-cgroup), as runc 1.1's
 * libcontainer/cgroups/systemd: the container's cgroup is a transient scope
 * unit, prefix-name.scope in its slice, which systemd makes with the
 * container's process in it (StartTransientUnit, PIDs=) and the resource
 * properties it knows; everything of linux.resources is then written to
 * the cgroup files as by the cgroupfs driver (v1.ts, v2.ts), which also does
 * what systemd is not asked for: freezing, pids, stats, OOM events.
 * Delete stops the scope (StopUnit) and removes what is left.
 *
 * The order differs from runc's in one way: bunc's child enters its cgroup
 * by itself (src/cgroups/join.ts), so the directories are made before the
 * child exists, and systemd is asked for the scope while the child waits
 * before its setup (started()). systemd resets the limits it manages when
 * it realizes the scope, so they are written again after it.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../../errors";
import { hierarchies } from "../hierarchies";
import { writeCgroupFile } from "../fsio";
import type { CgroupBind } from "../../plan/compile";
import type { CgroupManager } from "../manager";
import type { OomNotifier } from "../oom";
import type { LinuxResources } from "../resources";
import type { Stats } from "../stats";
import { Systemd } from "./systemd1";
import { annotationProperties, type Property, resourceProperties, scopeName, scopeProperties } from "./units";

export class SystemdManager implements CgroupManager {
  readonly version: 1 | 2;
  /** Resources of create, written again once systemd has made the scope. */
  private resources: LinuxResources | undefined;
  private started_ = false;
  private systemd: Systemd | undefined;

  constructor(
    readonly unit: string,
    private readonly fs: CgroupManager,
    private readonly extra: { id?: string; slice?: string; annotations?: Record<string, string> } = {},
  ) {
    this.version = fs.version;
  }

  /**
   * The driver for a new container: its scope (runc's getUnitName, slice
   * expansion) below the cgroup systemd runs in, the root of what it
   * manages (PID 1's cgroup without "init.scope", runc's getSubsystemPath).
   */
  static forContainer(id: string, cgroupsPath: string | undefined, annotations: Record<string, string> | undefined, fs: (absolutePath: string) => CgroupManager, initRoot: string): SystemdManager {
    const scope = scopeName(id, cgroupsPath);
    // Parsed now: a bad annotation is refused before anything is made.
    annotationProperties(annotations);
    const base = initRoot.replace(/\/init\.scope\/?$/, "").replace(/\/$/, "");
    return new SystemdManager(scope.unit, fs(`${base}${scope.cgroup}`), { id, slice: scope.slice, annotations });
  }

  get paths(): Record<string, string> {
    return this.fs.paths;
  }

  private connect(): Systemd {
    this.systemd ??= Systemd.connect();
    return this.systemd;
  }

  existing(): { pids: number[]; frozen: boolean } {
    return this.fs.existing();
  }

  create(): void {
    this.fs.create();
  }

  /** A failed create's undo: stop the scope if systemd made it, then the directories. */
  removeMade(): void {
    try {
      if (this.started_) this.connect().stopUnit(this.unit);
    } finally {
      this.fs.removeMade();
      this.close();
    }
  }

  apply(resources: LinuxResources | undefined, opts: { update?: boolean; current?: LinuxResources; rootless?: boolean } = {}): string[] {
    if (!opts.update) {
      // Checked (resourceProperties throws on what it cannot convert) and written now; systemd hears of them in started().
      resourceProperties(resources, this.version, 999);
      this.resources = resources;
      return this.fs.apply(resources, opts);
    }
    const systemd = this.connect();
    const warnings: string[] = [];
    const properties = resourceProperties(resources, this.version, systemd.version(), this.deviceOptions(resources?.devices !== undefined, warnings));
    // v1: systemd rewrites the devices cgroup on SetUnitProperties, briefly denying all;
    // runc freezes the container around it (freezeBeforeSet) unless it is frozen already.
    const freeze = this.version === 1 && !this.fs.isFrozen();
    if (freeze) this.fs.freeze();
    try {
      systemd.setUnitProperties(this.unit, properties);
    } finally {
      if (freeze) this.fs.thaw();
    }
    return [...warnings, ...this.fs.apply(resources, opts)];
  }

  /**
   * The container's process exists (blocked before its setup): systemd makes
   * the scope with it (runc's Apply), then the limits systemd reset are
   * written again.
   */
  started(pid: number): string[] {
    const systemd = this.connect();
    const version = systemd.version();
    const warnings: string[] = [];
    const properties: Property[] = [
      ...scopeProperties(this.extra.id ?? this.unit, { slice: this.extra.slice ?? "system.slice", unit: this.unit, cgroup: "" }, pid, this.version),
      ...resourceProperties(this.resources, this.version, version, this.deviceOptions(true, warnings)),
      ...annotationProperties(this.extra.annotations),
    ];
    systemd.startTransientUnit(this.unit, properties);
    this.started_ = true;
    if (this.version === 1) this.joinAgain(pid);
    // Its warnings were those of create's apply already.
    this.fs.apply(this.resources, {});
    return warnings;
  }

  private deviceOptions(devices: boolean, warnings: string[]): Parameters<typeof resourceProperties>[3] {
    return { devices, procDevices: devices ? readFileSync("/proc/devices", "utf8") : "", exists: existsSync, warnings };
  }

  /**
   * v1: systemd realizes the scope only in the hierarchies of the controllers
   * it enables for it, and moves the process out of (and removes) the scope's
   * directory in its other ones; runc's joinCgroups puts it back in each
   * hierarchy but systemd's own (name=systemd, and cgroup2 on a hybrid host).
   */
  private joinAgain(pid: number): void {
    const own = new Set(hierarchies().filter((h) => h.version === 2 || h.controllers.includes("name=systemd")).map((h) => h.mountpoint));
    for (const [mountpoint, dir] of Object.entries(this.fs.paths)) {
      if (own.has(mountpoint)) continue;
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
      writeCgroupFile(path.join(dir, "cgroup.procs"), String(pid));
    }
  }

  addProcess(pid: number): void {
    this.fs.addProcess(pid);
  }
  joinTargets(): { tasks: string[]; cloneInto?: string } {
    return this.fs.joinTargets();
  }
  pids(): number[] {
    return this.fs.pids();
  }
  freeze(): void {
    this.fs.freeze();
  }
  thaw(): void {
    this.fs.thaw();
  }
  isFrozen(): boolean {
    return this.fs.isFrozen();
  }
  signalAll(signal: number): void {
    this.fs.signalAll(signal);
  }
  oomKills(): number {
    return this.fs.oomKills();
  }
  oomNotifier(): OomNotifier {
    return this.fs.oomNotifier();
  }
  stats(): Stats {
    return this.fs.stats();
  }

  /** Stop the scope (systemd removes the directories it made), then remove the rest, as runc's Destroy. */
  destroy(): void {
    let stopError: unknown;
    try {
      const result = this.connect().stopUnit(this.unit);
      // A scope whose processes died may have failed; as runc, only reset it then.
      if (result !== "done") this.connect().resetFailedUnit(this.unit);
    } catch (e) {
      stopError = e;
    }
    try {
      this.fs.destroy();
    } finally {
      this.close();
    }
    if (stopError) throw stopError instanceof BuncError ? stopError : new BuncError(`systemd: ${(stopError as Error).message}`, { code: "CGROUP", cause: stopError });
  }

  binds(): CgroupBind[] {
    return this.fs.binds();
  }

  close(): void {
    this.systemd?.close();
    this.systemd = undefined;
  }
}
