/**
 * events: a container's cgroup statistics and OOM kills, as runc events
 * reports them ({"type":"stats"|"oom","id":…,"data":…}). runc waits on a
 * v1 memory.oom_control eventfd or inotify on v2 memory.events; bunc polls
 * the oom_kill counter of the same files every 100 ms, which needs no
 * thread and reports the same events.
 */
import { cgroupManagerFromPaths, type CgroupManager } from "../cgroups/manager";
import type { Stats } from "../cgroups/stats";
import { BuncError } from "../errors";
import { deriveStatus } from "./status";
import type { ContainerRecord, Store } from "./store";

export interface ContainerEvent {
  type: "stats" | "oom";
  id: string;
  data?: Stats;
}

const OOM_POLL_MS = 100;

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

/** Emit a stats event every intervalMs and an oom event per OOM kill, until the container stops. */
export async function watchEvents(store: Store, id: string, intervalMs: number, emit: (e: ContainerEvent) => void): Promise<void> {
  const { cgroup } = live(store, id);
  let ooms = cgroup.oomKills();
  let nextStats = performance.now();
  for (;;) {
    const now = performance.now();
    const kills = cgroup.oomKills();
    for (; ooms < kills; ooms++) emit({ type: "oom", id });
    if (now >= nextStats) {
      try {
        emit({ type: "stats", id, data: cgroup.stats() });
      } catch (e) {
        throw new BuncError(`events ${id}: ${(e as Error).message}`, { code: "CGROUP", cause: e });
      }
      nextStats = now + intervalMs;
    }
    const record = store.exists(id) ? store.load(id) : undefined;
    if (!record || deriveStatus(record, store.dir(id)) === "stopped") return;
    await Bun.sleep(Math.min(OOM_POLL_MS, Math.max(1, nextStats - performance.now())));
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
