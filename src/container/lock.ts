/** The per-container lock: flock(2) on the state directory, held for the length of one verb. */
import { closeSync, constants, openSync } from "node:fs";
import { lockExclusive } from "../linux/fs";
import type { Store } from "./store";

/** Run fn while holding container id's lock. */
export function withLock<T>(store: Store, id: string, fn: () => T): T {
  let fd: number | undefined;
  try {
    fd = openSync(store.dir(id), constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    // No state dir: the verb's own lookup reports the unknown container.
  }
  try {
    if (fd !== undefined) lockExclusive(fd);
    return fn();
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
