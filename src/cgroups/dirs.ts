/**
 * Making and removing cgroup directories so that a failed create takes
 * away only what it made: a cgroupsPath may name a directory (or parents)
 * the user made and uses, which must never be removed for them.
 */
import { mkdirSync, readdirSync, rmdirSync, type Dirent } from "node:fs";
import { posix as path } from "node:path";
import { readProcs } from "./fsio";

/** mkdir -p dir; returns the directories it made, top down (none if dir was there). */
export function makeDirs(dir: string): string[] {
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined) return [];
  const made = [first];
  for (const level of path.relative(first, dir).split("/").filter(Boolean)) made.push(path.join(made[made.length - 1]!, level));
  return made;
}

/** rmdir each of made, deepest first; gone already is fine. The first other failure is thrown after trying them all. */
export function removeDirs(made: readonly string[]): void {
  let failure: unknown;
  for (const dir of [...made].reverse()) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") failure ??= e;
    }
  }
  if (failure) throw failure;
}

/** The pids in dir's cgroup.procs and every cgroup below it (runc's GetAllPids); none if dir does not exist. */
export function allPids(dir: string): number[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // the usual case in create: nothing is there yet, and nothing more is read
  }
  const pids = readProcs(path.join(dir, "cgroup.procs"));
  for (const e of entries) if (e.isDirectory()) pids.push(...allPids(path.join(dir, e.name)));
  return pids;
}
