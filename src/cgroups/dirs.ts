/**
 * Making and removing cgroup directories so that a failed create takes
 * away only what it made: a cgroupsPath may name a directory (or parents)
 * the user made and uses, which must never be removed for them.
 */
import { mkdirSync, readdirSync, rmdirSync, type Dirent } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
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

/** The directories one manager's create() made, and their removal (a failed create's undo). */
export class MadeDirs {
  private dirs: string[] = [];

  /** mkdir -p dir, remembering what was new. */
  make(dir: string): void {
    this.dirs.push(...makeDirs(dir));
  }

  has(dir: string): boolean {
    return this.dirs.includes(dir);
  }

  /** Run the steps of create (make() and writes); if one fails, remove what was made and throw "create cgroup: …". */
  create(steps: () => void): void {
    try {
      steps();
    } catch (e) {
      try {
        this.remove();
      } catch {
        // The error that stopped create is the one to report.
      }
      throw new BuncError(`create cgroup: ${(e as Error).message}`, { code: "CGROUP", cause: e });
    }
  }

  /** rmdir what was made, deepest first. */
  remove(): void {
    const made = this.dirs;
    this.dirs = [];
    try {
      removeDirs(made);
    } catch (e) {
      throw new BuncError(`remove cgroup: ${(e as Error).message}`, { code: "CGROUP", cause: e });
    }
  }
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

/**
 * rmdir dir and every cgroup below it, deepest first (runc's RemovePaths):
 * a container may have made sub-cgroups of its own. Gone already is fine.
 */
export function removeTree(dir: string): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  for (const e of entries) if (e.isDirectory()) removeTree(path.join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
