/** Where the host's cgroup hierarchies are mounted, read from /proc/self/mountinfo and /proc/self/cgroup. */
import { readFileSync } from "node:fs";

export interface Hierarchy {
  /** Mount point: /sys/fs/cgroup/memory, or /sys/fs/cgroup on a cgroup2-only host. */
  mountpoint: string;
  /** v1 controllers (and "name=systemd") of this hierarchy; empty for cgroup2. */
  controllers: string[];
  version: 1 | 2;
  /** The root of this mount inside the hierarchy (mountinfo field 4), "/" usually. */
  root: string;
}

/**
 * The cgroup and cgroup2 hierarchies of this mount namespace, one mount
 * each: the first that shows the hierarchy's root, else the first (a bind
 * of a sub-tree, as a container's own /sys/fs/cgroup, is not the hierarchy).
 */
export function hierarchies(mountinfo = readFileSync("/proc/self/mountinfo", "utf8")): Hierarchy[] {
  const byKey = new Map<string, Hierarchy>();
  for (const h of allCgroupMounts(mountinfo)) {
    const key = `${h.version}:${h.controllers.join(",")}`;
    const seen = byKey.get(key);
    if (!seen || (seen.root !== "/" && h.root === "/")) byKey.set(key, h);
  }
  return [...byKey.values()];
}

function allCgroupMounts(mountinfo: string): Hierarchy[] {
  const out: Hierarchy[] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const [fstype, , superOptions = ""] = line.slice(sep + 3).split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const fields = line.slice(0, sep).split(" ");
    const mountpoint = unescapeMountinfo(fields[4]!);
    if (fstype === "cgroup2") {
      out.push({ mountpoint, controllers: [], version: 2, root: fields[3]! });
      continue;
    }
    const known = superOptions.split(",").filter((o) => !["rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "xattr", "clone_children"].includes(o) && !o.startsWith("release_agent"));
    out.push({ mountpoint, controllers: known, version: 1, root: fields[3]! });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as octal (proc_pid_mountinfo(5)). */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** This process's cgroup per v1 controller list ("cpu,cpuacct" → path) and "" for cgroup2, from /proc/self/cgroup. */
export function ownCgroups(text = readFileSync("/proc/self/cgroup", "utf8")): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}
