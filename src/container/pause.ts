/** pause and resume: freeze and thaw every process in the container's cgroup (runc pause/resume). */
import { cgroupManagerFromPaths } from "../cgroups/manager";
import { BuncError } from "../errors";
import { deriveStatus } from "./status";
import type { Store } from "./store";
import { guard } from "./transitions";

export function pauseContainer(store: Store, id: string): void {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  // runc: pausing a stopped or paused container is "container not running".
  if (status === "stopped" || status === "paused") throw new BuncError(`cannot pause container ${id}: container not running (it is ${status})`, { code: "STATE" });
  guard("pause", id, status);
  cgroupManagerFromPaths(record!.cgroupPaths).freeze();
}

export function resumeContainer(store: Store, id: string): void {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  if (status !== "paused") throw new BuncError(`cannot resume container ${id}: container not paused (it is ${status})`, { code: "STATE" });
  guard("resume", id, status);
  cgroupManagerFromPaths(record!.cgroupPaths).thaw();
}
