/**
 * A container's status is derived, never stored (as crun does): from the
 * process (pid + start time), the exec FIFO, and the freezer (v1
 * freezer.state, v2 cgroup.freeze).
 */
import { existsSync } from "node:fs";
import { cgroupManagerFromPaths } from "../cgroups/manager";
import { posix as path } from "node:path";
import { isSameProcess } from "../linux/proc";
import { EXEC_FIFO, type ContainerRecord } from "./store";

export type Status = "creating" | "created" | "running" | "stopped" | "paused";

/** The status of a container whose state directory is dir (record undefined: create is in progress). */
export function deriveStatus(record: ContainerRecord | undefined, dir: string): Status {
  if (!record) return "creating";
  if (record.pid <= 0 || !isSameProcess(record.pid, record.pidStartTime)) return "stopped";
  if (isFrozen(record)) return "paused";
  return existsSync(path.join(dir, EXEC_FIFO)) ? "created" : "running";
}

function isFrozen(record: ContainerRecord): boolean {
  return Object.keys(record.cgroupPaths).length > 0 && cgroupManagerFromPaths(record.cgroupPaths).isFrozen();
}
