/** bunc's own mount table, /proc/self/mountinfo (proc_pid_mountinfo(5)). */
import { readFileSync } from "node:fs";

export interface MountEntry {
  /** The directory of the filesystem that is mounted ("/" for a whole filesystem). */
  root: string;
  mountpoint: string;
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
      root: unescape(fields[3]!),
      mountpoint: unescape(fields[4]!),
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

/** The mount that holds path (a real path), and whether it is shared ("shared:N"). */
export function parentMountOf(real: string, table = mountTable()): { mountpoint: string; shared: boolean } | undefined {
  let best: MountEntry | undefined;
  for (const m of table) if (isUnder(real, m.mountpoint) && (!best || m.mountpoint.length >= best.mountpoint.length)) best = m;
  return best && { mountpoint: best.mountpoint, shared: best.optional.some((f) => f.startsWith("shared:")) };
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
