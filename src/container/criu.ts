/**
 * checkpoint and restore go through criu's command line (runc speaks criu's
 * RPC; the options are the same ones). This file maps runc's flags to criu's
 * arguments (pure, unit-tested) and runs criu, turning a failure into one
 * error that quotes criu's own last error from its log.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { posix as path } from "node:path";
import { BuncError } from "../errors";
import type { Spec } from "../spec/config";

/** runc's --manage-cgroups-mode values. */
export const MANAGE_CGROUPS_MODES = ["soft", "full", "strict", "ignore"] as const;
export type ManageCgroupsMode = (typeof MANAGE_CGROUPS_MODES)[number];

/** The flags checkpoint and restore share (runc's names). */
export interface CriuCommonOptions {
  /** --image-path: where criu's images are (default ./checkpoint, as runc). */
  imagePath: string;
  /** --work-path: criu's logs and work files (default: the image path). */
  workPath?: string;
  tcpEstablished?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  lazyPages?: boolean;
  autoDedup?: boolean;
  manageCgroupsMode?: ManageCgroupsMode;
  /** --empty-ns: namespaces created empty instead of restored ("network" only, as runc). */
  emptyNs?: string[];
}

export interface CheckpointOptions extends CriuCommonOptions {
  parentPath?: string;
  leaveRunning?: boolean;
  preDump?: boolean;
  statusFd?: number;
  /** ADDRESS:PORT of a criu page server. */
  pageServer?: string;
}

export interface RestoreOptions extends CriuCommonOptions {
  lsmProfile?: string;
  lsmMountContext?: string;
}

/** What criu needs to know about the container besides the flags. */
export interface CriuTarget {
  /** The container's init pid (dump) — unused for restore. */
  pid?: number;
  /** The container's rootfs on the host. */
  rootfs: string;
  /** config.json's mounts: bind mounts are external to the container's mount namespace. */
  mounts: Spec["mounts"];
  /** Bundle directory, to resolve relative bind sources. */
  bundle: string;
  /** The v1 freezer cgroup directory, when there is one: criu freezes the tree through it. */
  freezerCgroup?: string;
  /** The container's cgroup path relative to each hierarchy's root ("/bunc/ID"), for restore. */
  cgroupRoot?: string;
  /** Restore: where criu writes the restored init's pid. */
  pidFile?: string;
}

/** Check and normalize runc's --manage-cgroups-mode value. */
export function parseManageCgroupsMode(value: string | undefined): ManageCgroupsMode | undefined {
  if (value === undefined || value === "") return undefined;
  if (!(MANAGE_CGROUPS_MODES as readonly string[]).includes(value))
    throw new BuncError(`invalid --manage-cgroups-mode value ${JSON.stringify(value)}: use soft, full, strict or ignore`, { code: "EINVAL" });
  return value as ManageCgroupsMode;
}

/** runc's --empty-ns names → criu's; runc accepts only the network namespace. */
function emptyNsArgs(names: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const name of names) {
    if (name !== "network") throw new BuncError(`--empty-ns ${JSON.stringify(name)}: only "network" can be left empty`, { code: "EINVAL" });
    out.push("--empty-ns", "net");
  }
  return out;
}

/** Destinations of the bind mounts: criu cannot dump them, they are marked external. */
function bindMounts(target: CriuTarget): { destination: string; source: string }[] {
  return (target.mounts ?? [])
    .filter((m) => m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind"))
    .map((m) => ({ destination: m.destination, source: path.resolve(target.bundle, m.source ?? "") }));
}

function commonArgs(o: CriuCommonOptions, logFile: string): string[] {
  const a = ["--images-dir", o.imagePath, "--work-dir", o.workPath ?? o.imagePath, "--log-file", logFile, "-v4"];
  if (o.tcpEstablished) a.push("--tcp-established");
  if (o.extUnixSk) a.push("--ext-unix-sk");
  if (o.shellJob) a.push("--shell-job");
  if (o.fileLocks) a.push("--file-locks");
  if (o.autoDedup) a.push("--auto-dedup");
  if (o.manageCgroupsMode) a.push(`--manage-cgroups=${o.manageCgroupsMode}`);
  else a.push("--manage-cgroups");
  a.push(...emptyNsArgs(o.emptyNs));
  return a;
}

/** criu's command line (without the criu binary) for runc checkpoint's flags. */
export function criuDumpArgs(o: CheckpointOptions, target: CriuTarget): string[] {
  if (target.pid === undefined) throw new BuncError("checkpoint: the container has no process", { code: "STATE" });
  const a = [o.preDump ? "pre-dump" : "dump", "--tree", String(target.pid), "--root", target.rootfs];
  a.push(...commonArgs(o, o.preDump ? "pre-dump.log" : "dump.log"));
  if (o.parentPath) a.push("--prev-images-dir", o.parentPath, "--track-mem");
  else if (o.preDump) a.push("--track-mem");
  if (o.leaveRunning && !o.preDump) a.push("--leave-running");
  if (o.lazyPages) a.push("--lazy-pages");
  if (o.statusFd !== undefined && o.statusFd >= 0) a.push("--status-fd", String(o.statusFd));
  if (o.pageServer) {
    const at = o.pageServer.lastIndexOf(":");
    const address = o.pageServer.slice(0, at);
    const port = o.pageServer.slice(at + 1);
    if (at <= 0 || !/^\d+$/.test(port)) throw new BuncError(`invalid --page-server ${JSON.stringify(o.pageServer)}: want ADDRESS:PORT`, { code: "EINVAL" });
    a.push("--page-server", "--address", address, "--port", port);
  }
  if (target.freezerCgroup) a.push("--freeze-cgroup", target.freezerCgroup);
  for (const m of bindMounts(target)) a.push("--ext-mount-map", `${m.destination}:${m.destination}`);
  return a;
}

/** criu's command line (without the criu binary) for runc restore's flags. */
export function criuRestoreArgs(o: RestoreOptions, target: CriuTarget): string[] {
  if (!target.pidFile) throw new BuncError("restore: criu needs a pid file", { code: "EINVAL" });
  // Detached and a sibling: criu exits once the tree runs, and the restored init is bunc's child.
  const a = ["restore", "--root", target.rootfs, "--restore-detached", "--restore-sibling", "--pidfile", target.pidFile];
  a.push(...commonArgs(o, "restore.log"));
  if (o.lazyPages) a.push("--lazy-pages");
  if (o.lsmProfile) {
    if (!/^[^:]+:.+$/.test(o.lsmProfile)) throw new BuncError(`invalid --lsm-profile ${JSON.stringify(o.lsmProfile)}: want TYPE:NAME`, { code: "EINVAL" });
    a.push("--lsm-profile", o.lsmProfile);
  }
  if (o.lsmMountContext) a.push("--lsm-mount-context", o.lsmMountContext);
  if (target.cgroupRoot) a.push("--cgroup-root", target.cgroupRoot);
  for (const m of bindMounts(target)) a.push("--ext-mount-map", `${m.destination}:${m.source}`);
  return a;
}

/** The criu executable to run: --criu as given (a path, or a name looked up in PATH). */
export function findCriu(criu: string): string {
  const found = criu.includes("/") ? (existsSync(criu) ? criu : undefined) : (Bun.which(criu) ?? undefined);
  if (!found) throw new BuncError(`criu not found (${JSON.stringify(criu)}): checkpoint and restore need criu installed (apt-get install criu), or --criu PATH`, { code: "ENOENT" });
  try {
    accessSync(found, constants.X_OK);
  } catch (e) {
    throw new BuncError(`criu ${JSON.stringify(found)} is not executable`, { code: "EACCES", cause: e });
  }
  return found;
}

/** criu's own last error lines from its log: what went wrong, in its words. */
export function criuErrorFromLog(log: string): string | undefined {
  const errors = log.split("\n").filter((l) => /^\s*(\([\d.\s]+\)\s*)?Error\b/.test(l)).map((l) => l.replace(/^\s*\([\d.\s]+\)\s*/, "").trim());
  return errors.length ? errors.slice(-2).join("; ") : undefined;
}

/** Run criu with args; throws one error (criu's exit status and its last error) when it fails. */
export function runCriu(criu: string, args: string[], workDir: string, logName: string): void {
  const exe = findCriu(criu);
  const p = Bun.spawnSync([exe, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (p.exitCode === 0) return;
  const logPath = path.join(workDir, logName);
  let log = "";
  try {
    log = readFileSync(logPath, "utf8");
  } catch {
    // criu may fail before it opens its log; its stderr says why then.
  }
  const why = criuErrorFromLog(log) ?? criuErrorFromLog(p.stderr.toString()) ?? (p.stderr.toString().trim().split("\n").pop() || "no message");
  const status = p.exitCode === null ? `killed by signal ${p.signalCode}` : `exit status ${p.exitCode}`;
  throw new BuncError(`criu ${args[0]} failed (${status}): ${why}${log ? ` (log: ${logPath})` : ""}`, { code: "CRIU" });
}
