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
  apply(_resources: LinuxResources | undefined): void {
    // The limits were checked against the cgroups that could not be made (src/cgroups/rootless.ts).
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
