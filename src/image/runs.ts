/**
 * The directories of image runs (ROOT/images/runs/ID): each run holds an
 * flock on its lock file for as long as it lives, so prune removes only the
 * directories of runs that have ended — the upper directories runs without
 * --rm left, and what a killed bunc left (its overlay unmounted first).
 */
import { closeSync, existsSync, openSync, readdirSync, rmSync } from "node:fs";
import { posix as path } from "node:path";
import { flock } from "../linux/fs";
import { unmount } from "../linux/overlay";
import type { Store } from "../container/store";
import { ImageCache } from "./cache";

/** ROOT/images/runs. */
export function runsDir(store: Store): string {
  return path.join(new ImageCache(store.root).dir, "runs");
}

/** Lock run directory dir for the caller's run; close the fd to let go. */
export function lockRun(dir: string): number {
  const fd = openSync(path.join(dir, "lock"), "a", 0o600);
  flock(fd, 2 /* LOCK_EX */);
  return fd;
}

/** Remove the directories of ended runs; returns their ids. */
export function pruneRuns(store: Store): string[] {
  const dir = runsDir(store);
  const removed: string[] = [];
  for (const id of existsSync(dir) ? readdirSync(dir) : []) {
    const run = path.join(dir, id);
    let fd: number;
    try {
      fd = openSync(path.join(run, "lock"), "r");
    } catch {
      continue; // not made by a run yet, or already gone
    }
    try {
      if (!flock(fd, 2 | 4 /* LOCK_EX | LOCK_NB */)) continue;
      unmount(path.join(run, "rootfs"));
      rmSync(run, { recursive: true, force: true });
      removed.push(id);
    } finally {
      closeSync(fd);
    }
  }
  return removed;
}
