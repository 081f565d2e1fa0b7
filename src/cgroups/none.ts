/**
 * The cgroup of a rootless container that has none: on a host that does not
 * delegate a cgroup to the user, runc's rootless mode runs the container in
 * the caller's own cgroups and forgets the ones it could not make (fs.go
 * Apply, fs2.go Apply). Nothing is made or removed; the freezer is refused
 * with runc's words.
 */
import { BuncError } from "../errors";
import type { CgroupBind } from "../plan/compile";
import type { CgroupManager } from "./manager";
import { silentOomNotifier, type OomNotifier } from "./oom";
import type { LinuxResources } from "./resources";
import { v1Stats, type Stats } from "./stats";
import { v1Writes, v2Writes } from "./writes";

const NO_FREEZER = "cannot toggle freezer: cgroups not configured for container";

export class NoCgroup implements CgroupManager {
  /** binds: what the container's cgroup mount shows, the caller's own cgroups (where the process stays). */
  constructor(readonly version: 1 | 2, private readonly ownBinds: CgroupBind[] = []) {}
  readonly paths: Record<string, string> = {};
  existing(): { pids: number[]; frozen: boolean } {
    return { pids: [], frozen: false };
  }
  create(): void {}
  removeMade(): void {}
  /** create's limits were checked already (src/cgroups/rootless.ts); update's have nowhere to go, as runc's Set says. */
  apply(resources: LinuxResources | undefined): string[] {
    const warnings: string[] = [];
    const w = (this.version === 2 ? v2Writes : v1Writes)(resources, { devices: false, warnings }).find((x) => x.controller !== "devices");
    if (w) throw new BuncError(`cannot set ${w.controller} limit (${w.file}): container could not join or create cgroup (rootless: it has no cgroup of its own; give one delegated to the user as linux.cgroupsPath)`, { code: "CGROUP" });
    return warnings;
  }
  addProcess(): void {}
  joinTargets(): { tasks: string[]; cloneInto?: string } {
    return { tasks: [] };
  }
  pids(): number[] {
    return [];
  }
  freeze(): void {
    throw new BuncError(`${NO_FREEZER} (rootless: no cgroup was delegated to the user)`, { code: "ENOTSUP" });
  }
  thaw(): void {}
  isFrozen(): boolean {
    return false;
  }
  signalAll(): void {}
  oomKills(): number {
    return 0;
  }
  oomNotifier(): OomNotifier {
    return silentOomNotifier(() => false);
  }
  stats(): Stats {
    return v1Stats(() => undefined);
  }
  destroy(): void {}
  binds(): CgroupBind[] {
    return this.ownBinds;
  }
}
