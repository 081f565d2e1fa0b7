/** bunc's own mount table, /proc/self/mountinfo (proc_pid_mountinfo(5)). */
import { readFileSync } from "node:fs";
import { cstr, errnoError, rawSyscall, SYS } from "./libc";

export interface MountEntry {
  /** Mount ID (field 1). */
  id: number;
  /** The directory of the filesystem that is mounted ("/" for a whole filesystem). */
  root: string;
  mountpoint: string;
  /** Per-mount options (field 6): "rw", "nosuid", … */
  options: string[];
  /** Optional fields: "shared:N", "master:N", … */
  optional: string[];
  fstype: string;
}

/** The mounts of bunc's mount namespace, in mount order. */
export function mountTable(text = readFileSync("/proc/self/mountinfo", "utf8")): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(" ");
    out.push({
      id: Number(fields[0]),
      root: unescape(fields[3]!),
      mountpoint: unescape(fields[4]!),
      options: (fields[5] ?? "").split(","),
      optional: fields.slice(6),
      fstype: line.slice(sep + 3).split(" ")[0]!,
    });
  }
  return out;
}

/** Whether p is dir or under it. */
export function isUnder(p: string, dir: string): boolean {
  return dir === "/" || p === dir || p.startsWith(dir + "/");
}

/**
 * Whole procfs and sysfs mounts outside the rootfs (runc's msMoveRoot): with
 * --no-pivot they stay reachable in the container's mount namespace.
 */
export function hostProcAndSysfs(rootfs: string, table = mountTable()): string[] {
  return table.filter((m) => m.root === "/" && (m.fstype === "proc" || m.fstype === "sysfs") && !isUnder(m.mountpoint, rootfs)).map((m) => m.mountpoint);
}

/** The topmost mount that holds path (a real path). */
export function mountHolding(real: string, table = mountTable()): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of table) if (isUnder(real, m.mountpoint) && (!best || m.mountpoint.length >= best.mountpoint.length)) best = m;
  return best;
}

/** The mount that holds path (a real path), and whether it is shared ("shared:N"). */
export function parentMountOf(real: string, table = mountTable()): { mountpoint: string; shared: boolean } | undefined {
  const best = mountHolding(real, table);
  return best && { mountpoint: best.mountpoint, shared: best.optional.some((f) => f.startsWith("shared:")) };
}

/** The ID of the topmost mount at mountpoint (a real path), or undefined when none is there. */
export function topMountAt(mountpoint: string, table = mountTable()): number | undefined {
  return table.findLast((m) => m.mountpoint === mountpoint)?.id;
}

const MNT_DETACH = 2;
const UMOUNT_NOFOLLOW = 8;

/**
 * Detach the topmost mount at mountpoint, with everything under it, if it is
 * still the one with this ID; a mount someone else made there is left alone.
 */
export function detachMount(mountpoint: string, id: number): void {
  if (topMountAt(mountpoint) !== id) return;
  const r = rawSyscall(SYS.umount2, cstr(mountpoint), MNT_DETACH | UMOUNT_NOFOLLOW);
  if (r < 0 && r !== -22 /* EINVAL: gone meanwhile */) throw errnoError(`unmount the container's rootfs ${JSON.stringify(mountpoint)}`, -r);
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
