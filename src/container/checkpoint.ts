/**
 * checkpoint: dump the container's process tree with criu (runc checkpoint).
 * Without --leave-running (or with --pre-dump) criu stops the tree, and the
 * container is then deleted, as runc does.
 */
import { mkdirSync, statSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import { loadBundle } from "./bundle";
import { criuDumpArgs, runCriu, type CheckpointOptions } from "./criu";
import { deleteContainer } from "./delete";
import { deriveStatus } from "./status";
import type { Store } from "./store";
import { guard } from "./transitions";

export function checkpointContainer(store: Store, id: string, opts: CheckpointOptions, criu: string): void {
  const record = store.load(id);
  const status = deriveStatus(record, store.dir(id));
  guard("checkpoint", id, status);
  const spec = loadBundle(record!.bundle);
  const freezer = Object.entries(record!.cgroupPaths).find(([mount]) => path.basename(mount) === "freezer")?.[1];
  const args = criuDumpArgs(opts, { pid: record!.pid, rootfs: record!.rootfs, mounts: spec.mounts, bundle: record!.bundle, freezerCgroup: freezer });
  const workDir = opts.workPath ?? opts.imagePath;
  for (const dir of new Set([opts.imagePath, workDir])) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new BuncError(`cannot create ${JSON.stringify(dir)} for criu: ${(e as Error).message}`, { code: "EIO", cause: e });
    }
  }
  if (opts.parentPath) checkParentPath(opts.imagePath, opts.parentPath);
  runCriu(criu, args, workDir, opts.preDump ? "pre-dump.log" : "dump.log");
  if (!opts.leaveRunning && !opts.preDump) deleteContainer(store, id, true);
}

/**
 * criu follows --prev-images-dir relative to the image directory, so runc wants
 * a relative --parent-path naming a directory that exists there, and says so
 * before criu runs (its words: checkpoint.bats matches "--parent-path").
 */
function checkParentPath(imagePath: string, parentPath: string): void {
  if (path.isAbsolute(parentPath)) throw new BuncError("--parent-path must be relative", { code: "EINVAL" });
  const real = path.join(imagePath, parentPath);
  let dir: boolean;
  try {
    dir = statSync(real).isDirectory();
  } catch (e) {
    throw new BuncError(`invalid --parent-path: ${real}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`, { code: "EINVAL", cause: e });
  }
  if (!dir) throw new BuncError(`invalid --parent-path: ${real}: not a directory`, { code: "ENOTDIR" });
}
