/**
 * events: a container's cgroup statistics and OOM kills, as runc events
 * reports them ({"type":"stats"|"oom","id":…,"data":…}). OOM kills come from
 * the kernel (src/cgroups/oom.ts: a v1 memory.oom_control eventfd, v2
 * inotify on memory.events), so nothing is polled between two stats.
 */
import { cgroupManagerFromPaths, type CgroupManager } from "../cgroups/manager";
import { silentOomNotifier, type OomNotifier } from "../cgroups/oom";
import type { Stats } from "../cgroups/stats";
import { BuncError } from "../errors";
import { waitReadable } from "../linux/notify";
import { deriveStatus } from "./status";
import type { ContainerRecord, Store } from "./store";

export interface ContainerEvent {
  type: "stats" | "oom";
  id: string;
  data?: Stats;
}

function live(store: Store, id: string): { record: ContainerRecord; cgroup: CgroupManager } {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  if (!record || status === "stopped" || status === "creating") throw new BuncError(`cannot get events of container ${id}: it is ${status}`, { code: "STATE" });
  return { record, cgroup: cgroupManagerFromPaths(record.cgroupPaths) };
}

/** One stats event (events --stats). */
export function statsEvent(store: Store, id: string): ContainerEvent {
  return { type: "stats", id, data: live(store, id).cgroup.stats() };
}

/**
 * Emit an oom event per OOM kill and a stats event every intervalMs (the
 * first after one interval, as runc's time.Tick), until the kernel says the
 * watch is over as runc's NotifyOOM channel closes: on v1 when the cgroup is
 * removed (delete), on v2 when its last process has exited. Stats that
 * cannot be read (the cgroup going away) are reported through warn and
 * skipped, as runc logs them.
 */
export function watchEvents(store: Store, id: string, intervalMs: number, emit: (e: ContainerEvent) => void, warn: (message: string) => void): void {
  const { cgroup } = live(store, id);
  let notifier: OomNotifier;
  try {
    notifier = cgroup.oomNotifier();
  } catch (e) {
    // As runc: stats go on without OOM events, until the container is deleted.
    warn(`${(e as Error).message}: events of ${id} go on without OOM events`);
    notifier = silentOomNotifier(() => !store.exists(id));
  }
  try {
    let nextStats = performance.now() + intervalMs;
    for (;;) {
      const wait = nextStats - performance.now();
      if (wait <= 0) {
        try {
          emit({ type: "stats", id, data: cgroup.stats() });
        } catch (e) {
          warn(`events ${id}: ${(e as Error).message}`);
        }
        nextStats += intervalMs;
        continue;
      }
      if (notifier.ended()) return;
      if (!waitReadable(notifier.fd, wait)) continue;
      const { ooms, done } = notifier.read();
      for (let i = 0; i < ooms; i++) emit({ type: "oom", id });
      if (done) return;
    }
  } finally {
    notifier.close();
  }
}

/** A Go duration ("5s", "100ms", "1m30s") in milliseconds. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g, (_, n: string, u: string) => {
    ms += Number(n) * units[u]!;
    return "";
  });
  if (text === "" || rest !== "" || !(ms > 0)) throw new BuncError(`invalid interval ${JSON.stringify(text)}: expected a duration like 5s or 500ms`, { code: "EINVAL" });
  return ms;
}
