/**
 * restore: bring a checkpointed container back with criu (runc restore).
 * The container gets its state dir and cgroup first, as create does; criu
 * restores the tree detached, as bunc's child (--restore-sibling), and
 * writes the restored init's pid, which becomes the container's pid.
 * Without --detach bunc stays and returns the container's exit status, as run.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { posix as path } from "node:path";
import { cgroupManager } from "../cgroups/manager";
import { BuncError } from "../errors";
import { openChild, setChildSubreaper } from "../linux/pidfd";
import { procStat } from "../linux/proc";
import { loadBundle, rootfsOf } from "./bundle";
import { makeCgroup, newRecord, writePidFile } from "./create";
import { criuRestoreArgs, runCriu, type RestoreOptions } from "./criu";
import { deleteContainer } from "./delete";
import type { Store } from "./store";
import { supervise } from "./supervise";
import { Undo } from "./undo";
import { refuseUnsupported } from "./unsupported";

export interface RestoreContainerOptions extends RestoreOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  detach?: boolean;
  noSubreaper?: boolean;
  systemdCgroup?: boolean;
  /** Told what is warned about rather than refused (a non-empty cgroup). */
  onWarning?: (message: string) => void;
}

/** Restore a container; returns 0 when detached, else its exit status. */
export async function restoreContainer(store: Store, opts: RestoreContainerOptions, criu: string): Promise<number> {
  if (opts.consoleSocket) throw new BuncError("restore --console-socket is not supported by this build of bunc yet", { code: "ENOTSUP" });
  const bundle = path.resolve(opts.bundle);
  const spec = loadBundle(bundle);
  refuseUnsupported(spec);
  const rootfs = rootfsOf(bundle, spec);
  if (!opts.detach && !opts.noSubreaper) setChildSubreaper();
  const undo = new Undo();
  let pid: number;
  try {
    const dir = store.claim(opts.id);
    undo.push(() => store.remove(opts.id));
    const cgroup = cgroupManager(opts.id, spec.linux?.cgroupsPath, { systemd: opts.systemdCgroup, annotations: spec.annotations });
    const warnings: string[] = [];
    makeCgroup(cgroup, store, opts.id, undo, warnings);
    for (const w of warnings) opts.onWarning?.(w);
    for (const w of cgroup.apply(spec.linux?.resources)) opts.onWarning?.(w);
    const [mount, cgroupDir] = Object.entries(cgroup.paths)[0] ?? [];
    const cgroupRoot = mount && cgroupDir ? "/" + path.relative(mount, cgroupDir) : undefined;
    const criuPidFile = path.join(dir, "criu.pid");
    const workDir = opts.workPath ?? opts.imagePath;
    mkdirSync(workDir, { recursive: true, mode: 0o700 });
    runCriu(criu, criuRestoreArgs(opts, { rootfs, mounts: spec.mounts, bundle, cgroupRoot, pidFile: criuPidFile }), workDir, "restore.log");
    pid = Number(readFileSync(criuPidFile, "utf8").trim());
    const stat = procStat(pid);
    if (!Number.isInteger(pid) || pid <= 0 || !stat) throw new BuncError(`criu restore reported pid ${pid}, which is not running`, { code: "CRIU" });
    for (const w of cgroup.started?.(pid) ?? []) opts.onWarning?.(w);
    const record = newRecord(spec, { id: opts.id, pid, pidStartTime: stat.startTime, bundle, rootfs, cgroupPaths: cgroup.paths });
    if (cgroup.unit) record.systemdUnit = cgroup.unit;
    store.save(record);
    if (opts.pidFile) writePidFile(opts.pidFile, pid);
  } catch (e) {
    undo.run();
    throw e;
  }
  if (opts.detach) return 0;
  try {
    return await supervise(openChild(pid), pid);
  } finally {
    deleteContainer(store, opts.id, true);
  }
}
