/**
 * A container's status is derived, never stored (as crun does): from the
 * process (pid + start time), the exec FIFO, and the freezer.
 */
import { existsSync, readFileSync } from "node:fs";
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
  const dir = Object.entries(record.cgroupPaths).find(([mp]) => path.basename(mp).split(",").includes("freezer"))?.[1];
  if (!dir) return false;
  try {
    return readFileSync(path.join(dir, "freezer.state"), "utf8").trim() !== "THAWED";
  } catch {
    return false;
  }
}
